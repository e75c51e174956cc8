//! Records and stream keys on PostgreSQL: their part of the append writer's statement, lookups
//! and listing.

use super::writer::{Parts, Placeholders};
use super::{PgStore, corrupt};
use crate::{RecordFilter, RecordProjection, RecordRow, Result, StreamKey};
use palisade_core::StreamId;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// Records and key sets of an append group, one array per column (the group statement writes
/// them for the streams that moved).
#[derive(Default)]
pub(super) struct Rows<'a> {
    id: Vec<&'a str>,
    kind: Vec<&'a str>,
    parent: Vec<Option<String>>,
    status: Vec<&'a str>,
    sort_us: Vec<i64>,
    summary: Vec<&'a str>,
    /// Streams whose key set is given (the keys they hold and no longer list are released).
    key_owner: Vec<&'a str>,
    key_stream: Vec<&'a str>,
    key_namespace: Vec<&'a str>,
    key: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    /// The record of stream `id` after an append.
    pub fn push(&mut self, id: &'a str, stream: StreamId, p: &'a RecordProjection) {
        self.id.push(id);
        self.kind.push(stream.kind.as_str());
        self.parent.push(p.parent.map(|u| u.to_string()));
        self.status.push(&p.status);
        self.sort_us.push(p.sort_us);
        self.summary.push(&p.summary);
    }

    /// The whole key set of stream `id` after an append.
    pub fn push_keys(&mut self, id: &'a str, keys: &'a [StreamKey]) {
        self.key_owner.push(id);
        for k in keys {
            self.key_stream.push(id);
            self.key_namespace.push(&k.namespace);
            self.key.push(&k.key);
        }
    }

    /// Which of its CTEs have rows.
    pub fn parts(&self) -> Parts {
        Parts(Parts::when(Parts::RECORDS, &self.id) | Parts::when(Parts::KEYS, &self.key_owner))
    }

    /// The statement's CTEs for the `parts` it has (parameters numbered on from `p`).
    pub fn sql(p: &mut Placeholders, parts: Parts) -> String {
        let mut sql = String::new();
        if parts.has(Parts::RECORDS) {
            let cols: Vec<String> = ["text[]", "text[]", "text[]", "text[]", "int8[]", "text[]"]
                .iter()
                .map(|t| p.next(t))
                .collect();
            sql += &format!(
                ",
         records_up AS (
            INSERT INTO records (stream_id, kind, parent_id, status, sort_us, summary)
            SELECT r.* FROM unnest({})
                AS r(stream_id, kind, parent_id, status, sort_us, summary)
            WHERE r.stream_id IN (SELECT id FROM ok)
            ON CONFLICT (stream_id) DO UPDATE SET parent_id = EXCLUDED.parent_id,
                status = EXCLUDED.status, sort_us = EXCLUDED.sort_us, summary = EXCLUDED.summary
         )",
                cols.join(", ")
            );
        }
        if parts.has(Parts::KEYS) {
            let (owner, ks, kn, kk) = (
                p.next("text[]"),
                p.next("text[]"),
                p.next("text[]"),
                p.next("text[]"),
            );
            // Both see the table as it was before the statement: the keys a stream no longer
            // lists are released, and only keys it does not hold yet are inserted, so a key
            // another stream holds is a unique violation that refuses the statement.
            sql += &format!(
                ",
         keys_gone AS (
            DELETE FROM stream_keys k
            WHERE k.stream_id = ANY({owner}) AND k.stream_id IN (SELECT id FROM ok)
              AND NOT EXISTS (
                SELECT 1 FROM unnest({ks}, {kn}, {kk}) AS n(s, ns, key)
                WHERE n.s = k.stream_id AND n.ns = k.namespace AND n.key = k.key)
         ),
         keys_new AS (
            INSERT INTO stream_keys (namespace, key, stream_id)
            SELECT n.ns, n.key, n.s FROM unnest({ks}, {kn}, {kk}) AS n(s, ns, key)
            WHERE n.s IN (SELECT id FROM ok)
              AND NOT EXISTS (
                SELECT 1 FROM stream_keys k
                WHERE k.namespace = n.ns AND k.key = n.key AND k.stream_id = n.s)
         )"
            );
        }
        sql
    }

    /// The parameters of the `parts` it has, in the order of [`Rows::sql`].
    pub fn params<'b>(&'b self, out: &mut Vec<&'b (dyn ToSql + Sync)>, parts: Parts) {
        if parts.has(Parts::RECORDS) {
            out.extend([
                &self.id as &(dyn ToSql + Sync),
                &self.kind,
                &self.parent,
                &self.status,
                &self.sort_us,
                &self.summary,
            ]);
        }
        if parts.has(Parts::KEYS) {
            out.extend([
                &self.key_owner as &(dyn ToSql + Sync),
                &self.key_stream,
                &self.key_namespace,
                &self.key,
            ]);
        }
    }
}

fn row(r: &Row) -> Result<RecordRow> {
    Ok(RecordRow {
        id: Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt)?,
        kind: r.get(1),
        parent: r
            .get::<_, Option<&str>>(2)
            .map(|p| Uuid::parse_str(p).map_err(corrupt))
            .transpose()?,
        status: r.get(3),
        sort_us: r.get(4),
        summary: r.get(5),
        last_seq: r.get::<_, i64>(6) as u64,
    })
}

impl PgStore {
    pub(crate) async fn record(&self, id: Uuid) -> Result<Option<RecordRow>> {
        let client = self.pool.get().await?;
        let r = client
            .query_opt(
                "SELECT r.stream_id, r.kind, r.parent_id, r.status, r.sort_us, r.summary, s.last_seq
                 FROM records r JOIN streams s ON s.id = r.stream_id WHERE r.stream_id = $1",
                &[&id.to_string()],
            )
            .await?;
        r.as_ref().map(row).transpose()
    }

    pub(crate) async fn list_records(&self, f: RecordFilter) -> Result<Vec<RecordRow>> {
        let sql = crate::records::list_sql(&f, |n| format!("${n}"));
        let kind = f.kind.as_str();
        let parent = f.parent.map(|p| p.to_string());
        let limit = i64::from(f.limit);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&kind];
        if let Some(p) = &parent {
            params.push(p);
        }
        if let Some(s) = &f.status {
            params.push(s);
        }
        if let Some(b) = &f.before_us {
            params.push(b);
        }
        params.push(&limit);
        let client = self.pool.get().await?;
        let rows = client.query(&sql, &params).await?;
        rows.iter().map(row).collect()
    }

    pub(crate) async fn stream_by_key(&self, key: StreamKey) -> Result<Option<Uuid>> {
        let client = self.pool.get().await?;
        let r = client
            .query_opt(
                "SELECT stream_id FROM stream_keys WHERE namespace = $1 AND key = $2",
                &[&key.namespace, &key.key],
            )
            .await?;
        r.map(|r| Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt))
            .transpose()
    }
}
