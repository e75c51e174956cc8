//! Records and stream keys: the listing rows and unique keys of aggregates without a table of
//! their own (alerts, and those to come), shared by all of them.

use crate::{RecordFilter, RecordRow, Result, Store, StreamKey, dispatch};
use uuid::Uuid;

impl Store {
    /// The record of one stream.
    pub async fn record(&self, id: Uuid) -> Result<Option<RecordRow>> {
        dispatch!(self, s => s.record(id).await)
    }
    /// Records of one kind, newest first, filtered.
    pub async fn list_records(&self, filter: RecordFilter) -> Result<Vec<RecordRow>> {
        dispatch!(self, s => s.list_records(filter).await)
    }
    /// The stream that holds a unique key now, if any.
    pub async fn stream_by_key(&self, key: StreamKey) -> Result<Option<Uuid>> {
        dispatch!(self, s => s.stream_by_key(key).await)
    }
}

/// The listing statement for the filters `f` has (a statement per shape, so each plans with its
/// index; never `(? IS NULL OR …)`), with `ph(n)` writing the n-th placeholder. Parameters in
/// order: kind, then parent, status and before when given, then the limit.
pub(crate) fn list_sql(f: &RecordFilter, ph: impl Fn(usize) -> String) -> String {
    let mut n = 1;
    let mut next = || {
        n += 1;
        ph(n)
    };
    let mut sql = format!(
        "SELECT r.stream_id, r.kind, r.parent_id, r.status, r.sort_us, r.summary, s.last_seq
         FROM records r JOIN streams s ON s.id = r.stream_id WHERE r.kind = {}",
        ph(1)
    );
    if f.parent.is_some() {
        sql += &format!(" AND r.parent_id = {}", next());
    }
    if f.status.is_some() {
        sql += &format!(" AND r.status = {}", next());
    }
    if f.before_us.is_some() {
        sql += &format!(" AND r.sort_us < {}", next());
    }
    sql += &format!(" ORDER BY r.sort_us DESC LIMIT {}", next());
    sql
}
