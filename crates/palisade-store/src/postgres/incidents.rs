//! Incidents on PostgreSQL: the listing projection written with each append (its part of the
//! append writer's statement), lookups and
//! listing, and the per-incident evidence keys.

use super::writer::{Parts, Placeholders};
use super::{PgStore, corrupt};
use crate::{IncidentProjection, IncidentSummary, ListFilter, Result};
use palisade_core::{Kind, Severity, Status};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// Incident projections of an append group, one array per column: new incidents, changed
/// ones, and their members (the group statement writes them for the streams that moved).
#[derive(Default)]
pub(super) struct Rows<'a> {
    new_id: Vec<&'a str>,
    new_codename: Vec<&'a str>,
    new_title: Vec<&'a str>,
    new_kind: Vec<&'static str>,
    new_severity: Vec<i64>,
    new_status: Vec<&'static str>,
    new_restricted: Vec<bool>,
    new_commander: Vec<Option<&'a str>>,
    new_declared_at: Vec<&'a str>,
    new_updated_at: Vec<&'a str>,
    new_updated_us: Vec<i64>,
    id: Vec<&'a str>,
    title: Vec<&'a str>,
    severity: Vec<i64>,
    status: Vec<&'static str>,
    restricted: Vec<bool>,
    commander: Vec<Option<&'a str>>,
    updated_at: Vec<&'a str>,
    updated_us: Vec<i64>,
    member_incident: Vec<&'a str>,
    member_user: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    /// The projection of incident `id` after an append (`first`: the one that declared it).
    pub fn push(&mut self, id: &'a str, p: &'a IncidentProjection, first: bool) {
        let s = &p.summary;
        if first {
            self.new_id.push(id);
            self.new_codename.push(&s.codename);
            self.new_title.push(&s.title);
            self.new_kind.push(s.kind.as_str());
            self.new_severity.push(s.severity.level() as i64);
            self.new_status.push(s.status.as_str());
            self.new_restricted.push(s.restricted);
            self.new_commander.push(s.commander.as_deref());
            self.new_declared_at.push(&s.declared_at);
            self.new_updated_at.push(&s.updated_at);
            self.new_updated_us.push(s.updated_us);
        } else {
            self.id.push(id);
            self.title.push(&s.title);
            self.severity.push(s.severity.level() as i64);
            self.status.push(s.status.as_str());
            self.restricted.push(s.restricted);
            self.commander.push(s.commander.as_deref());
            self.updated_at.push(&s.updated_at);
            self.updated_us.push(s.updated_us);
        }
        for m in &p.members {
            self.member_incident.push(id);
            self.member_user.push(m);
        }
    }

    /// Which of its CTEs have rows.
    pub fn parts(&self) -> Parts {
        Parts(
            Parts::when(Parts::INCIDENTS_NEW, &self.new_id)
                | Parts::when(Parts::INCIDENTS_CHANGED, &self.id)
                | Parts::when(Parts::MEMBERS, &self.member_incident),
        )
    }

    /// The statement's CTEs for the `parts` it has (parameters numbered on from `p`).
    pub fn sql(p: &mut Placeholders, parts: Parts) -> String {
        let mut sql = String::new();
        if parts.has(Parts::INCIDENTS_NEW) {
            let cols: Vec<String> = [
                "text[]", "text[]", "text[]", "text[]", "int8[]", "text[]", "bool[]", "text[]",
                "text[]", "text[]", "int8[]",
            ]
            .iter()
            .map(|t| p.next(t))
            .collect();
            sql += &format!(
                ",
         incidents_new AS (
            INSERT INTO incidents (id, codename, title, kind, severity, status, restricted, commander, declared_at, updated_at, updated_us)
            SELECT n.* FROM unnest({})
                AS n(id, codename, title, kind, severity, status, restricted, commander, declared_at, updated_at, updated_us)
            WHERE n.id IN (SELECT id FROM ok)
         )",
                cols.join(", ")
            );
        }
        if parts.has(Parts::INCIDENTS_CHANGED) {
            let cols: Vec<String> = [
                "text[]", "text[]", "int8[]", "text[]", "bool[]", "text[]", "text[]", "int8[]",
            ]
            .iter()
            .map(|t| p.next(t))
            .collect();
            sql += &format!(
                ",
         incidents_changed AS (
            UPDATE incidents i SET title = c.title, severity = c.severity, status = c.status,
                restricted = c.restricted, commander = c.commander, updated_at = c.updated_at,
                updated_us = c.updated_us
            FROM unnest({}) AS c(id, title, severity, status, restricted, commander, updated_at, updated_us)
            WHERE i.id = c.id AND c.id IN (SELECT id FROM ok)
         )",
                cols.join(", ")
            );
        }
        if parts.has(Parts::MEMBERS) {
            let (mi, mu) = (p.next("text[]"), p.next("text[]"));
            sql += &format!(
                ",
         incident_members_new AS (
            INSERT INTO incident_members (incident_id, user_name)
            SELECT m.* FROM unnest({mi}, {mu}) AS m(incident_id, user_name)
            WHERE m.incident_id IN (SELECT id FROM ok)
            ON CONFLICT DO NOTHING
         )"
            );
        }
        sql
    }

    /// The parameters of the `parts` it has, in the order of [`Rows::sql`].
    pub fn params<'b>(&'b self, out: &mut Vec<&'b (dyn ToSql + Sync)>, parts: Parts) {
        if parts.has(Parts::INCIDENTS_NEW) {
            out.extend([
                &self.new_id as &(dyn ToSql + Sync),
                &self.new_codename,
                &self.new_title,
                &self.new_kind,
                &self.new_severity,
                &self.new_status,
                &self.new_restricted,
                &self.new_commander,
                &self.new_declared_at,
                &self.new_updated_at,
                &self.new_updated_us,
            ]);
        }
        if parts.has(Parts::INCIDENTS_CHANGED) {
            out.extend([
                &self.id as &(dyn ToSql + Sync),
                &self.title,
                &self.severity,
                &self.status,
                &self.restricted,
                &self.commander,
                &self.updated_at,
                &self.updated_us,
            ]);
        }
        if parts.has(Parts::MEMBERS) {
            out.extend([
                &self.member_incident as &(dyn ToSql + Sync),
                &self.member_user,
            ]);
        }
    }
}

const SUMMARY_COLS: &str = "i.id, i.codename, i.title, i.kind, i.severity, i.status, i.restricted, i.commander, i.declared_at, i.updated_at, i.updated_us, s.last_seq";

fn summary_row(r: &Row) -> Result<IncidentSummary> {
    Ok(IncidentSummary {
        id: Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt)?,
        codename: r.get(1),
        title: r.get(2),
        kind: r.get::<_, &str>(3).parse::<Kind>().map_err(corrupt)?,
        severity: Severity::new(r.get::<_, i64>(4) as u8)
            .ok_or_else(|| corrupt("severity out of range"))?,
        status: r.get::<_, &str>(5).parse::<Status>().map_err(corrupt)?,
        restricted: r.get(6),
        commander: r.get(7),
        declared_at: r.get(8),
        updated_at: r.get(9),
        updated_us: r.get(10),
        last_seq: r.get::<_, i64>(11) as u64,
    })
}

impl PgStore {
    pub(crate) async fn incident_by_codename(&self, codename: &str) -> Result<Option<Uuid>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT id FROM incidents WHERE codename = $1")
                    .await?,
                &[&codename],
            )
            .await?;
        row.map(|r| Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt))
            .transpose()
    }

    pub(crate) async fn incident_summary(&self, incident: Uuid) -> Result<Option<IncidentSummary>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached(&format!(
                        "SELECT {SUMMARY_COLS} FROM incidents i JOIN streams s ON s.id = i.id WHERE i.id = $1"
                    ))
                    .await?,
                &[&incident.to_string()],
            )
            .await?;
        row.as_ref().map(summary_row).transpose()
    }

    /// The newest incidents `f.viewer` may see, filtered.
    ///
    /// The statement names only the filters given (one prepared statement per combination)
    /// rather than `($2 IS NULL OR status = $2)`: a generic plan for the latter cannot use the
    /// filter index, and PostgreSQL switches to the generic plan after five executions; with
    /// stale statistics (no autovacuum) it scanned every incident. Membership is a join on its
    /// primary key, probed for the rows the index walk meets, not a set of every incident the
    /// viewer belongs to.
    pub(crate) async fn list_incidents(&self, f: &ListFilter) -> Result<Vec<IncidentSummary>> {
        let client = self.pool.get().await?;
        let status = f.status.map(|s| s.as_str());
        let severity = f.severity.map(|s| s.level() as i64);
        let kind = f.kind.map(|k| k.as_str());
        let limit = f.limit as i64;
        let viewer = f.viewer.as_str();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&viewer, &limit];
        let mut filters = String::new();
        if let Some(v) = &status {
            params.push(v);
            filters.push_str(&format!(" AND i.status = ${}", params.len()));
        }
        if let Some(v) = &severity {
            params.push(v);
            filters.push_str(&format!(" AND i.severity = ${}", params.len()));
        }
        if let Some(v) = &kind {
            params.push(v);
            filters.push_str(&format!(" AND i.kind = ${}", params.len()));
        }
        if f.mine {
            filters.push_str(" AND m.incident_id IS NOT NULL");
        }
        let sql = format!(
            "SELECT {SUMMARY_COLS} FROM incidents i JOIN streams s ON s.id = i.id
             LEFT JOIN incident_members m ON m.incident_id = i.id AND m.user_name = $1
             WHERE (NOT i.restricted OR m.incident_id IS NOT NULL){filters}
             ORDER BY i.updated_us DESC, i.id
             LIMIT $2"
        );
        let rows = client
            .query(&client.prepare_cached(&sql).await?, &params)
            .await?;
        rows.iter().map(summary_row).collect()
    }

    pub(crate) async fn incident_key(&self, incident: Uuid) -> Result<Option<String>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT wrapped FROM incident_keys WHERE incident_id = $1",
                &[&incident.to_string()],
            )
            .await?
            .map(|r| r.get(0)))
    }

    pub(crate) async fn put_incident_key(
        &self,
        incident: Uuid,
        wrapped: &str,
        at: &str,
    ) -> Result<String> {
        let client = self.pool.get().await?;
        let id = incident.to_string();
        client
            .execute(
                "INSERT INTO incident_keys (incident_id, wrapped, created_at) VALUES ($1, $2, $3) ON CONFLICT (incident_id) DO NOTHING",
                &[&id, &wrapped, &at],
            )
            .await?;
        Ok(client
            .query_one(
                "SELECT wrapped FROM incident_keys WHERE incident_id = $1",
                &[&id],
            )
            .await?
            .get(0))
    }
}
