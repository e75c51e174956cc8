//! Records and stream keys on SQLite: the shared listing rows and unique keys of aggregates
//! without a table of their own, written with each append; lookups and listing.

use super::{SqliteStore, bad};
use crate::{RecordFilter, RecordProjection, RecordRow, Result, StoreError, StreamKey};
use palisade_core::StreamId;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Write the record of a stream's state, inside its append's transaction.
pub(super) fn write_projection(
    conn: &Connection,
    stream: StreamId,
    p: &RecordProjection,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO records (stream_id, kind, parent_id, status, sort_us, summary)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (stream_id) DO UPDATE SET parent_id = excluded.parent_id,
             status = excluded.status, sort_us = excluded.sort_us, summary = excluded.summary",
    )?
    .execute(params![
        stream.id.to_string(),
        stream.kind.as_str(),
        p.parent.map(|u| u.to_string()),
        p.status,
        p.sort_us,
        p.summary
    ])?;
    Ok(())
}

/// Make the stream hold exactly `keys`: release the others, take the new ones. A key another
/// stream holds is [`StoreError::Taken`] (and the append's savepoint is rolled back).
pub(super) fn write_keys(conn: &Connection, stream: StreamId, keys: &[StreamKey]) -> Result<()> {
    let id = stream.id.to_string();
    let held: BTreeSet<StreamKey> = conn
        .prepare_cached("SELECT namespace, key FROM stream_keys WHERE stream_id = ?1")?
        .query_map([&id], |r| {
            Ok(StreamKey {
                namespace: r.get(0)?,
                key: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let wanted: BTreeSet<&StreamKey> = keys.iter().collect();
    for k in held.iter().filter(|k| !wanted.contains(k)) {
        conn.prepare_cached("DELETE FROM stream_keys WHERE namespace = ?1 AND key = ?2")?
            .execute(params![k.namespace, k.key])?;
    }
    for k in wanted.into_iter().filter(|k| !held.contains(*k)) {
        let r = conn
            .prepare_cached(
                "INSERT INTO stream_keys (namespace, key, stream_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![k.namespace, k.key, id]);
        match r {
            Err(e) if super::ledger::is_unique_violation(&e) => {
                return Err(StoreError::Taken(format!(
                    "{} {:?} (held by another {})",
                    k.namespace, k.key, stream.kind
                )));
            }
            r => {
                r?;
            }
        }
    }
    Ok(())
}

const COLS: &str = "r.stream_id, r.kind, r.parent_id, r.status, r.sort_us, r.summary, s.last_seq";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        id: Uuid::parse_str(&r.get::<_, String>(0)?).map_err(bad(0))?,
        kind: r.get(1)?,
        parent: r
            .get::<_, Option<String>>(2)?
            .map(|p| Uuid::parse_str(&p).map_err(bad(2)))
            .transpose()?,
        status: r.get(3)?,
        sort_us: r.get(4)?,
        summary: r.get(5)?,
        last_seq: r.get::<_, i64>(6)? as u64,
    })
}

impl SqliteStore {
    pub(crate) async fn record(&self, id: Uuid) -> Result<Option<RecordRow>> {
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {COLS} FROM records r JOIN streams s ON s.id = r.stream_id WHERE r.stream_id = ?1"
            ))?
            .query_row([id.to_string()], row)
            .optional()?)
        })
        .await
    }

    pub(crate) async fn list_records(&self, f: RecordFilter) -> Result<Vec<RecordRow>> {
        self.read(move |c| {
            let sql = crate::records::list_sql(&f, |n| format!("?{n}"));
            let mut values: Vec<rusqlite::types::Value> = vec![f.kind.as_str().to_string().into()];
            if let Some(p) = f.parent {
                values.push(p.to_string().into());
            }
            if let Some(s) = &f.status {
                values.push(s.clone().into());
            }
            if let Some(b) = f.before_us {
                values.push(b.into());
            }
            values.push(i64::from(f.limit).into());
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(values), row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn stream_by_key(&self, key: StreamKey) -> Result<Option<Uuid>> {
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached(
                    "SELECT stream_id FROM stream_keys WHERE namespace = ?1 AND key = ?2",
                )?
                .query_row(params![key.namespace, key.key], |r| r.get(0))
                .optional()?;
            id.map(|s| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }
}
