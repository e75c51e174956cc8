//! People: how each user is reached. A user's stream starts with the first change to it (made
//! here, by the user or an admin); until then they have no contact methods and no rules.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::event::numbered;
use palisade_core::person::{CreatePerson, PersonCommand, PersonState};
use palisade_core::{Actor, Aggregate, Context, StreamId, StreamKind, UserName};

impl App {
    /// The user `user` names, who must exist ("not found" otherwise).
    async fn existing_user(&self, user: &str) -> Result<UserName> {
        let missing = || AppError::NotFound(format!("no user {user:?}"));
        let u = UserName::parse(user).map_err(|_| missing())?;
        self.inner.store.user(&u).await?.ok_or_else(missing)?;
        Ok(u)
    }

    /// A user's contact settings: their stream, or `None` when they have set nothing yet.
    pub async fn person(
        &self,
        actor: &Actor,
        user: &str,
    ) -> Result<(UserName, Option<PersonState>)> {
        let u = self.existing_user(user).await?;
        match self.load_visible::<PersonState>(actor, u.as_str()).await {
            Ok(st) => Ok((u, Some(st))),
            Err(AppError::NotFound(_)) => Ok((u, None)),
            Err(e) => Err(e),
        }
    }

    /// Run a command on a user's contact settings, starting their stream first if need be.
    pub async fn person_command(
        &self,
        actor: &Actor,
        user: &str,
        cmd: PersonCommand,
        opts: &Options,
        render: Option<Render<'_, PersonState>>,
    ) -> Result<Outcome<PersonState>> {
        let u = self.existing_user(user).await?;
        if self.resolve::<PersonState>(u.as_str()).await.is_err() {
            let create = CreatePerson { user: u.clone() };
            // A command the rules refuse starts nothing either: decide it on the stream as it
            // would be first.
            crate::pipeline::require_role_for::<PersonState>(actor, &cmd)?;
            let ctx = Context {
                now: crate::now(),
                policy: &(),
            };
            let first = PersonState::decide_create(actor, &create, &ctx)?;
            let fresh = PersonState::fold(&numbered(
                StreamId::new(StreamKind::Person, uuid::Uuid::nil()),
                0,
                &actor.user,
                ctx.now,
                None,
                first,
            ))
            .map_err(|e| AppError::internal("a new person's stream does not fold", e))?;
            self.check_rules::<PersonState>(actor, &fresh, &cmd)?;
            match self
                .create::<PersonState>(actor, |_| Ok(create.clone()), &Options::default(), None)
                .await
            {
                // Another request started it first: it exists, which is all that is needed.
                Ok(_) | Err(AppError::Taken(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.execute::<PersonState>(actor, u.as_str(), cmd, opts, render)
            .await
    }
}
