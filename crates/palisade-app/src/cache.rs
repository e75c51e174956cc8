//! Folded states kept between requests, and one lock per stream.
//!
//! The ledger is append-only and the fold deterministic (property-tested in palisade-core), so a
//! state folded up to event `n` plus the events after `n` is the state of the whole stream: a
//! request reads only the events it has not seen. A load always asks the store for them, so
//! another instance's writes (several servers on one PostgreSQL) are seen at once: the cache
//! saves parsing, never freshness. A command may first be decided on the cached state alone
//! ([`StateCache::cached`]): its append names the head it was decided on, and the store refuses
//! it if the stream moved on. A state is remembered only once its append committed.

use palisade_core::bounded::Generations;
use palisade_core::{Aggregate, Event, FoldError};
use palisade_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use uuid::Uuid;

/// States kept per generation for each aggregate kind unless it says otherwise: the cache holds
/// the states used recently, at most two generations ([`Generations`]).
const CAPACITY: usize = 2048;

pub struct StateCache<A> {
    map: Mutex<Generations<Uuid, Arc<A>>>,
    /// An estimate of a state's size in bytes, for kinds whose states vary widely.
    weigh: fn(&A) -> usize,
}

impl<A> Default for StateCache<A> {
    fn default() -> Self {
        StateCache::with_capacity(CAPACITY)
    }
}

impl<A> StateCache<A> {
    /// A cache of `per_generation` states (at least one) per generation, for kinds whose
    /// states are large (fewer) or used in great numbers (more).
    pub fn with_capacity(per_generation: usize) -> Self {
        StateCache {
            map: Mutex::new(Generations::new(per_generation)),
            weigh: |_| 1,
        }
    }

    /// A cache of `per_generation` states per generation that also holds at most `bytes` per
    /// generation by `weigh`'s estimate, for kinds whose states carry what a client sent (an
    /// alert's payload may be 500 KB): a count alone would let a few such states multiply the
    /// cache's memory.
    pub fn weighed(per_generation: usize, bytes: usize, weigh: fn(&A) -> usize) -> Self {
        StateCache {
            map: Mutex::new(Generations::with_weight(per_generation, bytes)),
            weigh,
        }
    }
}

/// Why a stream's state could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event {seq} cannot be read: {error}")]
    Parse { seq: u64, error: String },
    #[error("the stream does not fold: {0}")]
    Fold(#[from] FoldError),
}

fn parse<A: Aggregate>(body: &str, seq: u64) -> Result<Event<A::Payload>, LoadError> {
    serde_json::from_str(body).map_err(|e| LoadError::Parse {
        seq,
        error: e.to_string(),
    })
}

impl<A: Aggregate> StateCache<A> {
    /// The stream's current state (`None` when it has no events), from the cached fold and the
    /// events appended since.
    pub async fn load(&self, store: &Store, id: Uuid) -> Result<Option<A>, LoadError> {
        let cached = self
            .map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        let after = cached.as_ref().map_or(0, |c| c.last_seq());
        let bodies = store.event_bodies_after(id, after).await?;
        let st = match cached {
            Some(base) if bodies.is_empty() => return Ok(Some((*base).clone())),
            Some(base) => {
                let mut st = (*base).clone();
                for (i, b) in bodies.iter().enumerate() {
                    st.apply(&parse::<A>(b, after + 1 + i as u64)?)?;
                }
                st
            }
            None if bodies.is_empty() => return Ok(None),
            None => {
                let events = bodies
                    .iter()
                    .enumerate()
                    .map(|(i, b)| parse::<A>(b, i as u64 + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                A::fold(&events)?
            }
        };
        if st.stream().id != id {
            return Err(LoadError::Fold(FoldError::WrongStream {
                seq: 1,
                expected: palisade_core::StreamId::new(A::KIND, id),
                found: st.stream(),
            }));
        }
        self.remember(&st);
        Ok(Some(st))
    }

    /// The state this process last knew for the stream, without asking the store: it may be
    /// behind another instance's writes (see `App::execute`, which only decides on it when the
    /// append will check the stream's head).
    pub fn cached(&self, id: Uuid) -> Option<A> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map(|st| (**st).clone())
    }

    /// Keep a state known to be the fold of its stream up to its `last_seq`.
    pub fn remember(&self, st: &A) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let id = st.stream().id;
        if m.get(&id).is_none_or(|c| c.last_seq() < st.last_seq()) {
            m.insert_weighted(id, Arc::new(st.clone()), (self.weigh)(st));
        }
    }
}

/// One async lock per stream: commands to one stream are decided and appended one at a time
/// within this process, so they never conflict with each other (only with another instance's
/// writes, which the pipeline retries). Locks are created on demand and forgotten when unused.
#[derive(Default)]
pub struct StreamLocks {
    map: Mutex<HashMap<Uuid, Weak<tokio::sync::RwLock<()>>>>,
}

impl StreamLocks {
    fn get(&self, id: Uuid) -> Arc<tokio::sync::RwLock<()>> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 4 * CAPACITY {
            m.retain(|_, w| w.strong_count() > 0);
        }
        match m.get(&id).and_then(Weak::upgrade) {
            Some(l) => l,
            None => {
                let l = Arc::new(tokio::sync::RwLock::new(()));
                m.insert(id, Arc::downgrade(&l));
                l
            }
        }
    }

    /// For a command whose decision depends on the stream's state: alone on the stream (on
    /// this instance) from its load to its commit.
    pub async fn lock(&self, id: Uuid) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.get(id).write_owned().await
    }

    /// For appends at the head (recorded reads): together with each other, so they still
    /// commit in groups, but never between a command's decision and its commit. The lock is
    /// fair: once a command waits, new reads queue behind it, so reads cannot starve commands.
    pub async fn share(&self, id: Uuid) -> tokio::sync::OwnedRwLockReadGuard<()> {
        self.get(id).read_owned().await
    }
}
