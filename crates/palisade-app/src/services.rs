//! Service use cases beyond the generic pipeline: creating one and listing them.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::Actor;
use palisade_core::service::{CreateService, ServiceState};
use palisade_store::ServiceSummary;

impl App {
    /// Create a service; its name must be free.
    pub async fn create_service(
        &self,
        actor: &Actor,
        create: CreateService,
        opts: &Options,
        render: Option<Render<'_, ServiceState>>,
    ) -> Result<Outcome<ServiceState>> {
        self.create::<ServiceState>(actor, |_| Ok(create.clone()), opts, render)
            .await
            .map_err(|e| match e {
                AppError::Taken(what) => AppError::Taken(format!(
                    "{what}: another service has that name; choose another"
                )),
                other => other,
            })
    }

    /// Services by name (every account sees every service).
    pub async fn list_services(&self, limit: u32) -> Result<Vec<ServiceSummary>> {
        Ok(self.inner.store.list_services(limit).await?)
    }
}
