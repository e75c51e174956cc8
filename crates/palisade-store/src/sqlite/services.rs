//! Services on SQLite: the listing projection written with each append, lookups and listing.

use super::{SqliteStore, bad};
use crate::{Result, ServiceProjection, ServiceSummary, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// Write the projection of a service's state, inside its append's transaction.
pub(super) fn write_projection(
    conn: &Connection,
    p: &ServiceProjection,
    first: bool,
) -> Result<()> {
    let s = &p.summary;
    let r = if first {
        conn.prepare_cached(
            "INSERT INTO services (id, name, description, created_at, updated_at, updated_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            s.id.to_string(),
            s.name,
            s.description,
            s.created_at,
            s.updated_at,
            s.updated_us
        ])
    } else {
        conn.prepare_cached(
            "UPDATE services SET name = ?2, description = ?3, updated_at = ?4, updated_us = ?5 WHERE id = ?1",
        )?
        .execute(params![
            s.id.to_string(),
            s.name,
            s.description,
            s.updated_at,
            s.updated_us
        ])
    };
    match r {
        Err(e) if super::ledger::is_unique_violation(&e) => {
            Err(StoreError::Taken(format!("service name {:?}", s.name)))
        }
        r => r.map(|_| ()).map_err(Into::into),
    }
}

const COLS: &str =
    "v.id, v.name, v.description, v.created_at, v.updated_at, v.updated_us, s.last_seq";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ServiceSummary> {
    Ok(ServiceSummary {
        id: Uuid::parse_str(&r.get::<_, String>(0)?).map_err(bad(0))?,
        name: r.get(1)?,
        description: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        updated_us: r.get(5)?,
        last_seq: r.get::<_, i64>(6)? as u64,
    })
}

impl SqliteStore {
    pub(crate) async fn service_by_name(&self, name: &str) -> Result<Option<Uuid>> {
        let name = name.to_string();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached("SELECT id FROM services WHERE name = ?1")?
                .query_row([name], |r| r.get(0))
                .optional()?;
            id.map(|s| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    pub(crate) async fn service_summary(&self, id: Uuid) -> Result<Option<ServiceSummary>> {
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {COLS} FROM services v JOIN streams s ON s.id = v.id WHERE v.id = ?1"
            ))?
            .query_row([id.to_string()], row)
            .optional()?)
        })
        .await
    }

    pub(crate) async fn list_services(&self, limit: u32) -> Result<Vec<ServiceSummary>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLS} FROM services v JOIN streams s ON s.id = v.id ORDER BY v.name LIMIT ?1"
            ))?;
            let rows = st.query_map([limit as i64], row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
