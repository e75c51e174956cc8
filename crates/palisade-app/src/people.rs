//! People: how each user is reached. A user's stream starts with the first change to it (made
//! here, by the user or an admin); until then they have no contact methods and no rules.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome, Render};
use palisade_core::event::numbered;
use palisade_core::person::{
    Address, Contact, ContactKind, CreatePerson, PersonCommand, PersonState, SealedAddress,
    check_address,
};
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
            Ok(st) => Ok((u, Some(self.open_contacts(st)))),
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
        let cmd = self.seal_contact(cmd)?;
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

    /// A new contact method's address, sealed for the ledger (age, to the master key) beside
    /// its keyed digest, in the form the core keeps it. An address the core refuses is left
    /// unsealed: `decide` refuses it, after who may change it, with the reason.
    fn seal_contact(&self, cmd: PersonCommand) -> Result<PersonCommand> {
        let PersonCommand::AddContact {
            kind,
            address,
            label,
            sealed: None,
        } = cmd
        else {
            return Ok(cmd);
        };
        let Ok(clear) = check_address(kind, &address) else {
            return Ok(PersonCommand::AddContact {
                kind,
                address,
                label,
                sealed: None,
            });
        };
        let sealed = SealedAddress {
            digest: self.address_digest(kind, &clear),
            sealed: self
                .inner
                .vault
                .seal_text(&clear)
                .map_err(|e| AppError::internal("sealing a contact address", e))?,
        };
        Ok(PersonCommand::AddContact {
            kind,
            address,
            label,
            sealed: Some(sealed),
        })
    }

    /// The keyed digest that finds a duplicate address without it in clear.
    fn address_digest(&self, kind: ContactKind, address: &str) -> String {
        self.inner.vault.keyed_digest(
            "contact-address",
            format!("{}\0{address}", kind.as_str()).as_bytes(),
        )
    }

    /// A person's settings with every address this deployment's key opens in clear. One that
    /// does not open (sealed under another master key) stays sealed, and is logged.
    pub fn open_contacts(&self, mut st: PersonState) -> PersonState {
        for c in &mut st.contacts {
            if let Some(clear) = self.open_address(&st.user, c) {
                c.address = Address::Clear(clear);
            }
        }
        st
    }

    /// One contact method's address in clear, if this deployment's key opens it (logged when
    /// it does not).
    pub(crate) fn open_address(&self, user: &UserName, c: &Contact) -> Option<String> {
        match &c.address {
            Address::Clear(a) => Some(a.clone()),
            Address::Sealed(s) => match self.inner.vault.open_text(&s.sealed) {
                Ok(clear) => Some(clear),
                Err(e) => {
                    tracing::error!(user = %user, contact = c.n, "a contact address does not open: {e}");
                    None
                }
            },
        }
    }
}
