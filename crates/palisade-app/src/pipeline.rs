//! The one command pipeline and the one read path, for every aggregate.
//!
//! A command: account role (before anything is looked up) → resolve the reference → load the
//! folded state → visibility (invisible is "not found") → the users it names exist → `decide` →
//! append the events with their projection, outbox messages and idempotency record in one
//! transaction → remember the state. Commands to one stream are serialized in this process (a
//! lock per stream), so they never conflict with each other; a conflict with another instance's
//! write is retried on the new state a bounded number of times. Commands whose decision does not
//! depend on the state (recorded reads) are appended at the head and never conflict.
//!
//! A read: resolve → load → visibility → record the read when the aggregate records reads.

use crate::error::{AppError, Result};
use crate::kept::Kept;
use crate::{App, now};
use palisade_core::event::numbered;
use palisade_core::{Actor, Aggregate, Context, Event, Notice, Recipient, StreamId, Timestamp};
use palisade_store::{
    AppendRequest, Destination, IdempotencyRecord, NewEvent, OutboxMessage, StoreError,
};
use std::sync::Arc;
use uuid::Uuid;

/// Most attempts of one command against streams that keep moving (another instance's writes).
const MAX_ATTEMPTS: u32 = 16;
/// References longer than this name nothing.
const MAX_REFERENCE: usize = 200;

/// How a command is to be recorded.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// When it happened, as reported (default: when recorded).
    pub occurred_at: Option<Timestamp>,
    /// Makes a repeat of the command return the first answer instead of acting again.
    pub idempotency: Option<IdempotencyKey>,
}

/// A client's idempotency key for one request, with a digest of what it asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    /// SHA-256 (hex) of the operation and its input: a key reused for something else is refused.
    pub request_hash: String,
}

impl IdempotencyKey {
    /// Validate a client's key (1–200 printable ASCII characters) and digest the request.
    pub fn new(key: &str, operation: &str, input: &[u8]) -> Result<IdempotencyKey> {
        if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(AppError::Invalid(
                "an Idempotency-Key is 1–200 printable ASCII characters without spaces".into(),
            ));
        }
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(operation.as_bytes());
        h.update([0]);
        h.update(input);
        Ok(IdempotencyKey {
            key: key.to_string(),
            request_hash: hex::encode(h.finalize()),
        })
    }

    /// This key for a request whose input goes on in content known only once it is read (an
    /// upload): its digest also covers the content's SHA-256, so the same key with other
    /// content is a different request.
    pub fn covering(&self, content_sha256: &str) -> IdempotencyKey {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.request_hash.as_bytes());
        h.update([0]);
        h.update(content_sha256.as_bytes());
        IdempotencyKey {
            key: self.key.clone(),
            request_hash: hex::encode(h.finalize()),
        }
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    /// The state after the command (including its events).
    pub state: A,
    /// The events it appended (none when the decision produced none).
    pub events: Vec<Event<A::Payload>>,
}

/// The outcome of a command sent with an idempotency key: done now, or done before (the first
/// answer, as the interface rendered it).
#[derive(Debug)]
pub enum Outcome<A: Aggregate> {
    Done(Executed<A>),
    Replayed(String),
}

impl<A: Aggregate> Outcome<A> {
    /// The execution, for callers that sent no idempotency key (they never get a replay).
    pub fn done(self) -> Result<Executed<A>> {
        match self {
            Outcome::Done(e) => Ok(e),
            Outcome::Replayed(_) => Err(AppError::internal(
                "a command without an idempotency key was replayed",
                "replay without key",
            )),
        }
    }
}

/// How an interface renders the answer it gives, so a replay can give the same one.
pub type Render<'a, A> = &'a (dyn Fn(&Executed<A>) -> String + Send + Sync);

fn not_found<A: Kept>(reference: &str) -> AppError {
    AppError::NotFound(format!("no {} {reference:?} that you can see", A::NOUN))
}

/// The account-role check of a command, before anything is looked up.
pub(crate) fn require_role_for<A: Kept>(actor: &Actor, cmd: &A::Command) -> Result<()> {
    require_role(actor, A::required_role(cmd))
}

pub(crate) fn require_role(actor: &Actor, needed: palisade_core::AccountRole) -> Result<()> {
    if actor.account_role.at_least(needed) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "this needs a {needed} account; {} is a {}",
            actor.user, actor.account_role
        )))
    }
}

impl App {
    /// The stream a reference names, if it exists (visibility is checked on the state).
    pub async fn resolve<A: Kept>(&self, reference: &str) -> Result<Uuid> {
        if reference.is_empty() || reference.len() > MAX_REFERENCE {
            return Err(not_found::<A>(reference));
        }
        A::resolve(&self.inner.store, reference)
            .await?
            .ok_or_else(|| not_found::<A>(reference))
    }

    /// The current state of a stream (cached fold plus newer events).
    pub async fn load<A: Kept>(&self, id: Uuid) -> Result<Option<A>> {
        A::cache(&self.inner)
            .load(&self.inner.store, id)
            .await
            .map_err(|e| match e {
                crate::cache::LoadError::Store(e) => AppError::from(e),
                other => AppError::internal(
                    "a stream's ledger could not be read; run `palisade verify`",
                    format!("{} {id}: {other}", A::NOUN),
                ),
            })
    }

    /// Load a stream `actor` may see, as `reference` names it, without recording a read (for a
    /// check before an action that records its own).
    pub async fn load_visible<A: Kept>(&self, actor: &Actor, reference: &str) -> Result<A> {
        self.load_visible_for::<A>(actor, reference, None).await
    }

    /// Load a stream `actor` may see (for `cmd`, when one is being issued), as `reference`
    /// names it; anything else is "not found".
    pub(crate) async fn load_visible_for<A: Kept>(
        &self,
        actor: &Actor,
        reference: &str,
        cmd: Option<&A::Command>,
    ) -> Result<A> {
        let id = self.resolve::<A>(reference).await?;
        let st = self
            .load::<A>(id)
            .await?
            .ok_or_else(|| not_found::<A>(reference))?;
        if !st.visible_to(actor, cmd, now()) {
            return Err(not_found::<A>(reference));
        }
        Ok(st)
    }

    /// The checks a command gets before work that has to come first (reading or re-hashing
    /// content): the account's role, then visibility. The state it may be decided on.
    pub(crate) async fn load_for<A: Kept>(
        &self,
        actor: &Actor,
        reference: &str,
        cmd: &A::Command,
    ) -> Result<A> {
        require_role_for::<A>(actor, cmd)?;
        self.load_visible_for::<A>(actor, reference, Some(cmd))
            .await
    }

    /// The refusal `actor` would get for `cmd` on `st` now, if any: the account's role, then
    /// the rules. Nothing is written or counted; for showing an action disabled with its
    /// reason before anyone tries it (the pipeline checks again when it is tried).
    pub fn would_refuse<A: Kept>(
        &self,
        actor: &Actor,
        st: &A,
        cmd: &A::Command,
    ) -> Option<AppError> {
        self.would_change(actor, st, cmd).err()
    }

    /// What `cmd` would do to `st` now, decided as the pipeline decides it, with nothing
    /// written: `Ok(true)` when it would record something, `Ok(false)` when it would change
    /// nothing (it already is so: acknowledging a resolved alert), or the refusal.
    pub fn would_change<A: Kept>(&self, actor: &Actor, st: &A, cmd: &A::Command) -> Result<bool> {
        require_role_for::<A>(actor, cmd)?;
        let ctx = Context {
            now: now(),
            policy: A::policy(&self.inner),
        };
        st.decide(actor, cmd, &ctx)
            .map(|events| !events.is_empty())
            .map_err(AppError::Refused)
    }

    /// Streams changed on this instance, as they commit (their ids). A receiver that falls
    /// behind misses ids (`RecvError::Lagged`) and should reload what it shows.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<Uuid> {
        self.inner.changed.subscribe()
    }

    /// Would the rules refuse `cmd` on `st` now? Nothing is written; a refusal is counted.
    pub(crate) fn check_rules<A: Kept>(
        &self,
        actor: &Actor,
        st: &A,
        cmd: &A::Command,
    ) -> Result<()> {
        let ctx = Context {
            now: now(),
            policy: A::policy(&self.inner),
        };
        st.decide(actor, cmd, &ctx)
            .inspect_err(|r| self.inner.metrics.refused(r.rule.id))?;
        Ok(())
    }

    pub(crate) async fn require_users(&self, users: Vec<palisade_core::UserName>) -> Result<()> {
        for u in users {
            if self.inner.store.user(&u).await?.is_none() {
                return Err(AppError::Invalid(format!(
                    "there is no user {u:?}; an admin creates one with `palisade token create --user {u} --role responder`"
                )));
            }
        }
        Ok(())
    }

    /// Every stream `refs` name exists (by name, among its kind).
    pub(crate) async fn require_references(&self, refs: Vec<crate::kept::Reference>) -> Result<()> {
        use crate::kept::Reference;
        use palisade_core::escalation::EscalationState;
        use palisade_core::schedule::ScheduleState;
        for r in refs {
            let (found, noun, name, list) = match &r {
                Reference::Schedule(n) => (
                    ScheduleState::resolve(&self.inner.store, n.as_str()).await?,
                    "schedule",
                    n,
                    "palisade schedule list",
                ),
                Reference::Escalation(n) => (
                    EscalationState::resolve(&self.inner.store, n.as_str()).await?,
                    "escalation policy",
                    n,
                    "palisade escalation list",
                ),
                Reference::Team(n) => (
                    palisade_core::team::TeamState::resolve(&self.inner.store, n.as_str()).await?,
                    "team",
                    n,
                    "palisade team list",
                ),
            };
            if found.is_none() {
                return Err(AppError::Invalid(format!(
                    "there is no {noun} {:?}; `{list}` lists them",
                    name.as_str()
                )));
            }
        }
        Ok(())
    }

    /// Read a stream: it must be visible to `actor`; a read of an aggregate that records reads
    /// (restricted incidents) is appended to its ledger before the state is returned, and the
    /// state returned includes it.
    pub async fn read<A: Kept>(
        &self,
        actor: &Actor,
        reference: &str,
        what: &str,
        via: &str,
    ) -> Result<A> {
        let st = self.load_visible_for::<A>(actor, reference, None).await?;
        let Some(read) = st.read_record(what, via) else {
            return Ok(st);
        };
        self.append_at_head::<A>(st.stream(), actor, vec![read])
            .await?;
        self.load::<A>(st.stream().id)
            .await?
            .ok_or_else(|| not_found::<A>(reference))
    }

    /// Append events that do not depend on the state after whatever the stream holds now.
    async fn append_at_head<A: Kept>(
        &self,
        stream: StreamId,
        actor: &Actor,
        payloads: Vec<A::Payload>,
    ) -> Result<()> {
        // Never between a command's decision and its commit on this instance (see StreamLocks).
        let _shared = self.inner.locks.share(stream.id).await;
        self.append_at_head_unlocked::<A>(stream, actor, payloads)
            .await
    }

    /// [`Self::append_at_head`] for a caller that already holds the stream's exclusive lock
    /// (no decision of this instance can be between its decision and its commit then).
    async fn append_at_head_unlocked<A: Kept>(
        &self,
        stream: StreamId,
        actor: &Actor,
        payloads: Vec<A::Payload>,
    ) -> Result<()> {
        let user = actor.user.clone();
        let at = now();
        let make = Arc::new(move |head: u64| {
            NewEvent::from_events(&numbered(stream, head, &user, at, None, payloads.clone()))
        });
        self.inner.store.append_at_head(stream, make).await?;
        self.inner.witness_wake.notify_one();
        let _ = self.inner.changed.send(stream.id);
        Ok(())
    }

    /// Run a command on the stream `reference` names; see the module documentation for the
    /// steps. With `opts.idempotency`, the answer `render` gives is stored with the events, and a
    /// repeat returns it ([`Outcome::Replayed`]) without acting again.
    pub async fn execute<A: Kept>(
        &self,
        actor: &Actor,
        reference: &str,
        cmd: A::Command,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Outcome<A>> {
        require_role(actor, A::required_role(&cmd))?;
        if let Some(replay) = self.replay(actor, opts).await? {
            return Ok(Outcome::Replayed(replay));
        }
        let id = self.resolve::<A>(reference).await?;
        self.execute_on(actor, id, reference, cmd, opts, render)
            .await
    }

    /// [`Self::execute`] on a stream whose id the caller already holds (an open alert's, from
    /// its key): nothing is read to find it. A stream that does not exist is not found.
    pub(crate) async fn execute_id<A: Kept>(
        &self,
        actor: &Actor,
        id: Uuid,
        cmd: A::Command,
        opts: &Options,
    ) -> Result<Outcome<A>> {
        require_role(actor, A::required_role(&cmd))?;
        if let Some(replay) = self.replay(actor, opts).await? {
            return Ok(Outcome::Replayed(replay));
        }
        self.execute_on(actor, id, &id.to_string(), cmd, opts, None)
            .await
    }

    /// Decide and commit. The first decision may be made on the state this process last
    /// committed (cached) without reading the stream: if another instance wrote to it since, the
    /// append finds the stream's head moved and refuses (the expected last seq), and the command
    /// is decided again on what the store holds. Only a decision on the stream as read is
    /// answered with a refusal, a "nothing to do" or a "not found": a stale state never refuses.
    async fn execute_on<A: Kept>(
        &self,
        actor: &Actor,
        id: Uuid,
        reference: &str,
        cmd: A::Command,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Outcome<A>> {
        let _serial = if A::independent_of_state(&cmd) {
            None
        } else {
            Some(self.inner.locks.lock(id).await)
        };
        let mut checked_users = false;
        let mut attempts = Attempts::new(MAX_ATTEMPTS);
        // Whether `st` below is the stream as read (not only as this process last wrote it).
        let mut read = A::independent_of_state(&cmd);
        loop {
            let cached = if read {
                None
            } else {
                A::cache(&self.inner).cached(id)
            };
            let st = match cached {
                Some(st) => st,
                None => {
                    read = true;
                    self.load::<A>(id)
                        .await?
                        .ok_or_else(|| not_found::<A>(reference))?
                }
            };
            let at = now();
            if !st.visible_to(actor, Some(&cmd), at) {
                if !read {
                    read = true;
                    continue;
                }
                return Err(not_found::<A>(reference));
            }
            if !checked_users {
                self.require_users(A::users_named(&cmd)).await?;
                self.require_references(A::references(&cmd)).await?;
                checked_users = true;
            }
            let ctx = Context {
                now: at,
                policy: A::policy(&self.inner),
            };
            let payloads = match st.decide(actor, &cmd, &ctx) {
                Ok(p) if p.is_empty() && !read => {
                    read = true;
                    continue;
                }
                Ok(p) => p,
                Err(_) if !read => {
                    read = true;
                    continue;
                }
                Err(r) => {
                    self.inner.metrics.refused(r.rule.id);
                    self.record_refusal(actor, &st, &cmd, &r, _serial.is_some())
                        .await;
                    return Err(r.into());
                }
            };
            if payloads.is_empty() {
                return Ok(Outcome::Done(Executed {
                    state: st,
                    events: Vec::new(),
                }));
            }
            if A::independent_of_state(&cmd) {
                self.append_at_head::<A>(st.stream(), actor, payloads)
                    .await?;
                let state = self
                    .load::<A>(id)
                    .await?
                    .ok_or_else(|| not_found::<A>(reference))?;
                return Ok(Outcome::Done(Executed {
                    state,
                    events: Vec::new(),
                }));
            }
            let events = numbered(
                st.stream(),
                st.last_seq(),
                &actor.user,
                at,
                opts.occurred_at,
                payloads,
            );
            match self.commit(actor, st, events, opts, render).await {
                // The cached state was behind the stream: decide on the stream as read.
                Err(AppError::Conflict(_)) if !read => read = true,
                // Another instance wrote to this stream: decide again on its new state, unless
                // that was the last attempt.
                Err(AppError::Conflict(_)) => {
                    tokio::time::sleep(attempts.another(A::NOUN)?).await;
                }
                Err(AppError::IdempotencyMismatch(_)) => {
                    // The same key committed concurrently: give its answer.
                    return match self.replay(actor, opts).await? {
                        Some(r) => Ok(Outcome::Replayed(r)),
                        None => Err(AppError::Conflict(
                            "the command was sent twice at once; try again".into(),
                        )),
                    };
                }
                other => return other.map(Outcome::Done),
            }
        }
    }

    /// Record a refusal on the stream when the aggregate keeps them (a drill's). The command is
    /// refused whatever happens here: a record that cannot be written is logged, not answered.
    async fn record_refusal<A: Kept>(
        &self,
        actor: &Actor,
        st: &A,
        cmd: &A::Command,
        refusal: &palisade_core::Refusal,
        holding_exclusive: bool,
    ) {
        let Some(p) = st.refusal_record(cmd, refusal) else {
            return;
        };
        // Under the stream's exclusive lock (a state-dependent command) the shared lock of an
        // ordinary at-head append would wait for this very command: append directly.
        let appended = if holding_exclusive {
            self.append_at_head_unlocked::<A>(st.stream(), actor, vec![p])
                .await
        } else {
            self.append_at_head::<A>(st.stream(), actor, vec![p]).await
        };
        if let Err(e) = appended {
            tracing::warn!(error = %e, stream = %st.stream(), rule = refusal.rule.id, "a drill's refusal was not recorded");
        }
    }

    /// Start a new stream. `make(attempt)` gives the creation to try; when a unique name it
    /// holds is taken, it is asked again (up to [`Kept::CREATE_ATTEMPTS`] times).
    pub async fn create<A: Kept>(
        &self,
        actor: &Actor,
        make: impl FnMut(u32) -> Result<A::Create>,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Outcome<A>> {
        self.create_as(actor, None, make, opts, render).await
    }

    /// [`Self::create`] with the new stream's id chosen by the caller (`None`: a fresh one), for a
    /// use case that records the id elsewhere before the stream exists.
    pub(crate) async fn create_as<A: Kept>(
        &self,
        actor: &Actor,
        id: Option<Uuid>,
        mut make: impl FnMut(u32) -> Result<A::Create>,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Outcome<A>> {
        if let Some(replay) = self.replay(actor, opts).await? {
            return Ok(Outcome::Replayed(replay));
        }
        let mut taken = None;
        for attempt in 0..A::CREATE_ATTEMPTS {
            let create = make(attempt)?;
            if attempt == 0 {
                require_role(actor, A::create_role(&create))?;
                self.require_users(A::users_named_at_creation(&create))
                    .await?;
                self.require_references(A::references_at_creation(&create))
                    .await?;
            }
            match self
                .create_once(
                    actor,
                    id.unwrap_or_else(Uuid::now_v7),
                    &create,
                    opts,
                    render,
                )
                .await
            {
                Err(AppError::Taken(what)) => taken = Some(what),
                other => return other.map(Outcome::Done),
            }
        }
        Err(AppError::Taken(taken.unwrap_or_else(|| "the name".into())))
    }

    /// Start the stream of a well-known id (one per deployment, such as the deployment's log).
    /// If another process started it first, this is a conflict.
    pub(crate) async fn create_with_id<A: Kept>(
        &self,
        actor: &Actor,
        id: Uuid,
        create: A::Create,
        opts: &Options,
    ) -> Result<Executed<A>> {
        require_role(actor, A::create_role(&create))?;
        self.require_users(A::users_named_at_creation(&create))
            .await?;
        self.require_references(A::references_at_creation(&create))
            .await?;
        self.create_once(actor, id, &create, opts, None).await
    }

    async fn create_once<A: Kept>(
        &self,
        actor: &Actor,
        id: Uuid,
        create: &A::Create,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Executed<A>> {
        let at = now();
        let ctx = Context {
            now: at,
            policy: A::policy(&self.inner),
        };
        let payloads = A::decide_create(actor, create, &ctx).inspect_err(|r| {
            self.inner.metrics.refused(r.rule.id);
        })?;
        let stream = StreamId::new(A::KIND, id);
        let events = numbered(stream, 0, &actor.user, at, opts.occurred_at, payloads);
        let st =
            A::fold(&events).map_err(|e| AppError::internal("a new stream does not fold", e))?;
        // The first state is built from the events; nothing more is applied.
        self.commit_first(actor, st, events, opts, render).await
    }

    /// The stored answer to this key, if it was used by this account for this same request.
    pub(crate) async fn replay(&self, actor: &Actor, opts: &Options) -> Result<Option<String>> {
        let Some(k) = &opts.idempotency else {
            return Ok(None);
        };
        match self
            .inner
            .store
            .idempotency_record(actor.user.as_str(), &k.key)
            .await?
        {
            None => Ok(None),
            Some(r) if r.request_hash == k.request_hash => Ok(Some(r.response)),
            Some(_) => Err(AppError::IdempotencyMismatch(format!(
                "idempotency key {:?} was already used for a different request; use a new key for a new request",
                k.key
            ))),
        }
    }

    /// Apply decided events to the state and append them.
    async fn commit<A: Kept>(
        &self,
        actor: &Actor,
        mut st: A,
        events: Vec<Event<A::Payload>>,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Executed<A>> {
        let before = st.last_seq();
        for e in &events {
            st.apply(e)
                .map_err(|e| AppError::internal("a decided event does not apply", e))?;
        }
        self.append(actor, before, st, events, opts, render).await
    }

    async fn commit_first<A: Kept>(
        &self,
        actor: &Actor,
        st: A,
        events: Vec<Event<A::Payload>>,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Executed<A>> {
        self.append(actor, 0, st, events, opts, render).await
    }

    async fn append<A: Kept>(
        &self,
        actor: &Actor,
        expected_last_seq: u64,
        st: A,
        events: Vec<Event<A::Payload>>,
        opts: &Options,
        render: Option<Render<'_, A>>,
    ) -> Result<Executed<A>> {
        let at = now();
        let mut outbox: Vec<OutboxMessage> = Vec::new();
        for n in st.effects(&events) {
            outbox.extend(self.route(n, at).await?);
        }
        let wakes_notifier = outbox.iter().any(|m| m.destination != Destination::Timer);
        let wakes_timers = outbox.iter().any(|m| m.destination == Destination::Timer);
        let executed = Executed { state: st, events };
        let idempotency = match (&opts.idempotency, render) {
            (Some(k), Some(render)) => Some(IdempotencyRecord {
                actor: actor.user.to_string(),
                key: k.key.clone(),
                request_hash: k.request_hash.clone(),
                response: render(&executed),
                created_at: at.to_string(),
            }),
            _ => None,
        };
        let req = AppendRequest {
            stream: executed.state.stream(),
            expected_last_seq,
            events: NewEvent::from_events(&executed.events)
                .map_err(|e| AppError::internal("an event has no canonical encoding", e))?,
            projection: executed.state.projection(),
            outbox,
            idempotency,
            keys: executed.state.keys(),
        };
        match self.inner.store.append(req).await {
            Ok(_) => {
                self.inner
                    .metrics
                    .appended(executed.state.counted(), executed.events.len() as u64);
                self.inner.witness_wake.notify_one();
                if wakes_notifier {
                    self.inner.notify_wake.notify_one();
                    self.inner.announce_outbox.notify_one();
                }
                if wakes_timers {
                    self.inner.timer_wake.notify_one();
                    self.inner.announce_timers.notify_one();
                }
                A::cache(&self.inner).remember(&executed.state);
                let _ = self.inner.changed.send(executed.state.stream().id);
                Ok(executed)
            }
            Err(StoreError::Taken(what)) => Err(AppError::Taken(what)),
            Err(e) => Err(e.into()),
        }
    }
}

impl App {
    /// The outbox rows of a notice. A notice to a person goes to their contact methods by
    /// their notification rules (each rule: a method, so many minutes later), to each of their
    /// methods at once when they have no rules, and to the deployment's channel (with the
    /// person named in the body) when they have set nothing.
    async fn route(&self, n: Notice, at: Timestamp) -> Result<Vec<OutboxMessage>> {
        use palisade_core::person::{ContactKind, PersonState};
        let Recipient::User(user) = &n.to else {
            return Ok(vec![outbox_message(n, at)]);
        };
        let person = match self.resolve::<PersonState>(user.as_str()).await {
            Ok(id) => self.load::<PersonState>(id).await?,
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let Some(person) = person.filter(|p| !p.contacts.is_empty()) else {
            return Ok(vec![outbox_message(n, at)]);
        };
        let uses: Vec<(u32, u32)> = if person.rules.is_empty() {
            person.contacts.iter().map(|c| (c.n, 0)).collect()
        } else {
            person
                .rules
                .iter()
                .map(|r| (r.contact, r.after_minutes))
                .collect()
        };
        let mut out = Vec::new();
        for (contact, after_minutes) in uses {
            let Some(c) = person.contacts.iter().find(|c| c.n == contact) else {
                continue;
            };
            let mut m = outbox_message(
                Notice {
                    delay_secs: n.delay_secs + u64::from(after_minutes) * 60,
                    ..n.clone()
                },
                at,
            );
            // Only the addresses used are opened. One this deployment's key does not open
            // (logged): the operators' channel gets this use of it instead, naming the person.
            if let Some(address) = self.open_address(user, c) {
                m.destination = match c.kind {
                    ContactKind::Webhook => Destination::Webhook { url: address },
                    ContactKind::Slack => Destination::Slack { url: address },
                    ContactKind::Email => Destination::Email { to: address },
                };
            }
            out.push(m);
        }
        if out.is_empty() {
            out.push(outbox_message(n, at));
        }
        Ok(out)
    }
}

/// The outbox row of a notice. Until people have contact methods of their own, a notice to a
/// user goes to the operators' channel with the user named in its body (`to`). A timer is a row
/// the timer worker acts on when it falls due.
fn outbox_message(n: Notice, at: Timestamp) -> OutboxMessage {
    let destination = match n.to {
        Recipient::Operators | Recipient::User(_) => Destination::Default,
        Recipient::Timer => Destination::Timer,
    };
    let delay_us = i64::try_from(n.delay_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    OutboxMessage {
        id: Uuid::now_v7(),
        kind: n.kind.to_string(),
        destination,
        payload: n.body.to_string(),
        created_at: at.to_string(),
        due_us: at.unix_micros().saturating_add(delay_us),
    }
}

/// The bound on deciding a command again after concurrent changes.
pub(crate) struct Attempts {
    made: u32,
    max: u32,
}

impl Attempts {
    pub(crate) fn new(max: u32) -> Attempts {
        Attempts { made: 0, max }
    }

    /// An attempt met a concurrent change: the short random pause before the next one (so that
    /// competing instances spread out), or, when that was the last, the conflict the client
    /// may try again.
    pub(crate) fn another(&mut self, noun: &str) -> Result<std::time::Duration> {
        self.made += 1;
        if self.made >= self.max {
            return Err(AppError::Conflict(format!(
                "the {noun} kept changing while this command was decided; try again"
            )));
        }
        let mut b = [0u8; 1];
        let _ = getrandom::fill(&mut b);
        let ms = u64::from(b[0] % 8) * u64::from((self.made - 1).min(4));
        Ok(std::time::Duration::from_millis(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound: a stream that changes under every attempt is decided `MAX_ATTEMPTS` times and
    /// then answered as a conflict to try again (HTTP 409, the CLI's exit 2), never retried
    /// forever and never turned into a refusal.
    #[test]
    fn a_stream_that_never_stops_changing_is_tried_the_bounded_number_of_times() {
        let mut attempts = Attempts::new(MAX_ATTEMPTS);
        let mut decided = 1; // the first attempt
        let refused = loop {
            match attempts.another("incident") {
                Ok(pause) => {
                    assert!(pause.as_millis() <= 28, "{pause:?}");
                    decided += 1;
                }
                Err(e) => break e,
            }
            assert!(decided <= MAX_ATTEMPTS, "more attempts than the bound");
        };
        assert_eq!(decided, MAX_ATTEMPTS);
        match refused {
            AppError::Conflict(m) => assert_eq!(
                m,
                "the incident kept changing while this command was decided; try again"
            ),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    /// A bound of one decides once and never waits.
    #[test]
    fn a_bound_of_one_is_one_attempt() {
        let mut attempts = Attempts::new(1);
        assert!(matches!(
            attempts.another("alert"),
            Err(AppError::Conflict(m)) if m.starts_with("the alert kept changing")
        ));
    }
}
