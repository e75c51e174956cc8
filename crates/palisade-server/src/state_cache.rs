//! Folded incident states, kept between requests. The ledger is append-only, so a state folded up
//! to event `n` plus the events after `n` is the state of the whole ledger (the fold property
//! test in palisade-core); a request reads only the events it has not seen. Without this, every
//! read of a much-read restricted incident would re-parse its whole ledger, which grows with
//! each recorded read.

use palisade_core::IncidentState;
use palisade_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Incidents kept; beyond this the cache starts over (a simple bound on memory).
const CAPACITY: usize = 2048;

#[derive(Default)]
pub struct StateCache {
    map: Mutex<HashMap<Uuid, Arc<IncidentState>>>,
}

/// Why an incident's state could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the ledger does not fold: {0}")]
    Fold(#[from] palisade_core::incident::FoldError),
    #[error("incident {0} has no events")]
    Empty(Uuid),
}

impl StateCache {
    /// The incident's current state: the cached fold plus whatever was appended since.
    pub async fn load(&self, store: &Store, id: Uuid) -> Result<IncidentState, LoadError> {
        let cached = self.map.lock().ok().and_then(|m| m.get(&id).cloned());
        let st = match cached {
            Some(base) => {
                let newer = store.events_after(id, base.last_seq).await?;
                if newer.is_empty() {
                    return Ok((*base).clone());
                }
                let mut st = (*base).clone();
                for e in &newer {
                    st.apply(e)?;
                }
                st
            }
            None => {
                let events = store.events(id).await?;
                if events.is_empty() {
                    return Err(LoadError::Empty(id));
                }
                IncidentState::fold(&events)?
            }
        };
        self.remember(&st);
        Ok(st)
    }

    /// Keep a state known to be the fold of the ledger up to its `last_seq`.
    pub fn remember(&self, st: &IncidentState) {
        if let Ok(mut m) = self.map.lock() {
            let newer = m.get(&st.id).is_none_or(|c| c.last_seq < st.last_seq);
            if newer {
                if m.len() >= CAPACITY {
                    m.clear();
                }
                m.insert(st.id, Arc::new(st.clone()));
            }
        }
    }
}
