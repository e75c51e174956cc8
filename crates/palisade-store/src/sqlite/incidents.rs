//! Incidents on SQLite: the listing projection written with each append, lookups and listing,
//! and the per-incident evidence keys.

use super::{SqliteStore, bad};
use crate::{IncidentProjection, IncidentSummary, ListFilter, Result, StoreError};
use palisade_core::{Kind, Severity, Status};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// Write the projection of an incident's state, inside its append's transaction.
pub(super) fn write_projection(
    conn: &Connection,
    p: &IncidentProjection,
    first: bool,
) -> Result<()> {
    let s = &p.summary;
    let id = s.id.to_string();
    if first {
        let r = conn
            .prepare_cached(
                "INSERT INTO incidents (id, codename, title, kind, severity, status, restricted, commander, declared_at, updated_at, updated_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                id, s.codename, s.title, s.kind.as_str(), s.severity.level() as i64,
                s.status.as_str(), s.restricted, s.commander, s.declared_at, s.updated_at,
                s.updated_us
            ]);
        match r {
            Err(e) if super::ledger::is_unique_violation(&e) => {
                return Err(StoreError::Taken(format!("codename {:?}", s.codename)));
            }
            r => {
                r?;
            }
        }
    } else {
        conn.prepare_cached(
            "UPDATE incidents SET title = ?2, severity = ?3, status = ?4, restricted = ?5, commander = ?6, updated_at = ?7, updated_us = ?8 WHERE id = ?1",
        )?
        .execute(params![
            id, s.title, s.severity.level() as i64, s.status.as_str(), s.restricted, s.commander,
            s.updated_at, s.updated_us
        ])?;
    }
    let mut member = conn.prepare_cached(
        "INSERT INTO incident_members (incident_id, user_name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    for m in &p.members {
        member.execute(params![id, m])?;
    }
    Ok(())
}

const SUMMARY_COLS: &str = "i.id, i.codename, i.title, i.kind, i.severity, i.status, i.restricted, i.commander, i.declared_at, i.updated_at, i.updated_us, s.last_seq";

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentSummary> {
    Ok(IncidentSummary {
        id: Uuid::parse_str(&r.get::<_, String>(0)?).map_err(bad(0))?,
        codename: r.get(1)?,
        title: r.get(2)?,
        kind: r.get::<_, String>(3)?.parse::<Kind>().map_err(bad(3))?,
        severity: Severity::new(r.get::<_, i64>(4)? as u8)
            .ok_or_else(|| bad(4)("severity out of range"))?,
        status: r.get::<_, String>(5)?.parse::<Status>().map_err(bad(5))?,
        restricted: r.get(6)?,
        commander: r.get(7)?,
        declared_at: r.get(8)?,
        updated_at: r.get(9)?,
        updated_us: r.get(10)?,
        last_seq: r.get::<_, i64>(11)? as u64,
    })
}

impl SqliteStore {
    pub(crate) async fn incident_by_codename(&self, codename: &str) -> Result<Option<Uuid>> {
        let codename = codename.to_string();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached("SELECT id FROM incidents WHERE codename = ?1")?
                .query_row([codename], |r| r.get(0))
                .optional()?;
            id.map(|s| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    pub(crate) async fn incident_summary(&self, incident: Uuid) -> Result<Option<IncidentSummary>> {
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLS} FROM incidents i JOIN streams s ON s.id = i.id WHERE i.id = ?1"
            ))?
            .query_row([incident.to_string()], summary_row)
            .optional()?)
        })
        .await
    }

    pub(crate) async fn list_incidents(&self, f: &ListFilter) -> Result<Vec<IncidentSummary>> {
        let f = f.clone();
        self.read(move |c| {
            // Only the filters given appear in the query, so SQLite can use the
            // (status, severity, updated_us) index instead of scanning every incident.
            let status = f.status.map(|s| s.as_str());
            let severity = f.severity.map(|s| s.level() as i64);
            let kind = f.kind.map(|k| k.as_str());
            let limit = f.limit as i64;
            let viewer = f.viewer.as_str();
            let mut filters = String::new();
            let mut args: Vec<(&str, &dyn rusqlite::ToSql)> =
                vec![(":viewer", &viewer), (":limit", &limit)];
            if let Some(s) = &status {
                filters.push_str(" AND i.status = :status");
                args.push((":status", s));
            }
            if let Some(s) = &severity {
                filters.push_str(" AND i.severity = :severity");
                args.push((":severity", s));
            }
            if let Some(k) = &kind {
                filters.push_str(" AND i.kind = :kind");
                args.push((":kind", k));
            }
            if f.mine {
                filters.push_str(" AND EXISTS (SELECT 1 FROM incident_members m WHERE m.incident_id = i.id AND m.user_name = :viewer)");
            }
            let sql = format!(
                "SELECT {SUMMARY_COLS} FROM incidents i JOIN streams s ON s.id = i.id
                 WHERE (i.restricted = 0 OR EXISTS (SELECT 1 FROM incident_members m WHERE m.incident_id = i.id AND m.user_name = :viewer))
                   {filters}
                 ORDER BY i.updated_us DESC, i.id
                 LIMIT :limit"
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(&args[..], summary_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn incident_key(&self, incident: Uuid) -> Result<Option<String>> {
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT wrapped FROM incident_keys WHERE incident_id = ?1")?
                    .query_row([incident.to_string()], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    pub(crate) async fn put_incident_key(
        &self,
        incident: Uuid,
        wrapped: &str,
        at: &str,
    ) -> Result<String> {
        let (w, a) = (wrapped.to_string(), at.to_string());
        self.write(false, move |c, _| {
            let id = incident.to_string();
            c.execute(
                "INSERT INTO incident_keys (incident_id, wrapped, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (incident_id) DO NOTHING",
                params![id, w, a],
            )?;
            let stored: String = c.query_row(
                "SELECT wrapped FROM incident_keys WHERE incident_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            Ok((stored, None))
        })
        .await
    }
}
