//! The delivery log: what the notification worker sent, is still trying, or gave up on (dead
//! letters), and resending a message. Admins only: destinations are deployment configuration.

use crate::App;
use crate::error::{AppError, Result};
use palisade_core::{AccountRole, Actor};
use palisade_store::{DeliveryRow, DeliveryState};
use uuid::Uuid;

fn admin(actor: &Actor) -> Result<()> {
    if actor.account_role.at_least(AccountRole::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "the delivery log is for admins; {} is a {}",
            actor.user, actor.account_role
        )))
    }
}

impl App {
    /// Messages in `state` (all when `None`), newest first.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>> {
        admin(actor)?;
        Ok(self.inner.store.outbox_list(state, limit).await?)
    }

    /// Send a message again now (a dead letter, or one delivered that a receiver lost), under
    /// the same id, so a receiver that has it already can tell.
    pub async fn resend_delivery(&self, actor: &Actor, id: Uuid) -> Result<()> {
        admin(actor)?;
        if !self
            .inner
            .store
            .outbox_resend(id, crate::now().unix_micros())
            .await?
        {
            return Err(AppError::NotFound(format!("no delivery {id}")));
        }
        tracing::info!(id = %id, by = %actor.user, "delivery resent");
        self.inner.notify_wake.notify_one();
        Ok(())
    }
}
