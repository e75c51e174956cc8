//! Service use cases beyond the generic pipeline: creating one, listing them, and linking one
//! to its owning team and escalation policy (found by name or id, linked by id).

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::Actor;
use palisade_core::escalation::EscalationState;
use palisade_core::service::{CreateService, Link, ServiceCommand, ServiceState};
use palisade_core::team::TeamState;
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

impl App {
    /// The link to the stream of `A` that `reference` names (id or name), as it is named now;
    /// an unknown one is invalid input (the command names it).
    async fn link<A: crate::Kept>(
        &self,
        reference: &str,
        name: impl Fn(&A) -> palisade_core::types::ResourceName,
    ) -> Result<Link> {
        let missing = || {
            AppError::Invalid(format!(
                "there is no {} {reference:?}; `palisade {} list` lists them",
                A::NOUN,
                if A::NOUN == "team" {
                    "team"
                } else {
                    "escalation"
                }
            ))
        };
        let id = self.resolve::<A>(reference).await.map_err(|e| match e {
            AppError::NotFound(_) => missing(),
            other => other,
        })?;
        let st = self.load::<A>(id).await?.ok_or_else(missing)?;
        Ok(Link {
            id,
            name: name(&st),
        })
    }

    /// Set (or with `None` clear) a service's owning team, named by id or name.
    pub async fn set_service_owner(
        &self,
        actor: &Actor,
        service: &str,
        team: Option<&str>,
        opts: &Options,
        render: Option<Render<'_, ServiceState>>,
    ) -> Result<Outcome<ServiceState>> {
        crate::pipeline::require_role_for::<ServiceState>(
            actor,
            &ServiceCommand::SetOwner { team: None },
        )?;
        let team = match team {
            Some(t) => Some(self.link::<TeamState>(t, |s| s.name.clone()).await?),
            None => None,
        };
        self.execute::<ServiceState>(
            actor,
            service,
            ServiceCommand::SetOwner { team },
            opts,
            render,
        )
        .await
    }

    /// Set (or with `None` clear) a service's escalation policy, named by id or name.
    pub async fn set_service_escalation(
        &self,
        actor: &Actor,
        service: &str,
        policy: Option<&str>,
        opts: &Options,
        render: Option<Render<'_, ServiceState>>,
    ) -> Result<Outcome<ServiceState>> {
        crate::pipeline::require_role_for::<ServiceState>(
            actor,
            &ServiceCommand::SetEscalationPolicy { policy: None },
        )?;
        let policy = match policy {
            Some(p) => Some(self.link::<EscalationState>(p, |s| s.name.clone()).await?),
            None => None,
        };
        self.execute::<ServiceState>(
            actor,
            service,
            ServiceCommand::SetEscalationPolicy { policy },
            opts,
            render,
        )
        .await
    }

    /// The current name of a linked team or policy (it may have been renamed since).
    pub async fn current_name(&self, link: &Link, team: bool) -> Result<String> {
        let name = if team {
            self.load::<TeamState>(link.id).await?.map(|s| s.name)
        } else {
            self.load::<EscalationState>(link.id).await?.map(|s| s.name)
        };
        Ok(name.unwrap_or_else(|| link.name.clone()).to_string())
    }
}
