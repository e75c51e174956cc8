//! Services on PostgreSQL: the listing projection written with each append (its part of the
//! append writer's statement), lookups and listing.

use super::writer::{Parts, Placeholders};
use super::{PgStore, corrupt};
use crate::{Result, ServiceProjection, ServiceSummary};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// Service projections of an append group, one array per column (the group statement writes
/// them for the streams that moved).
#[derive(Default)]
pub(super) struct Rows<'a> {
    new_id: Vec<&'a str>,
    new_name: Vec<&'a str>,
    new_description: Vec<Option<&'a str>>,
    new_created_at: Vec<&'a str>,
    new_updated_at: Vec<&'a str>,
    new_updated_us: Vec<i64>,
    id: Vec<&'a str>,
    name: Vec<&'a str>,
    description: Vec<Option<&'a str>>,
    updated_at: Vec<&'a str>,
    updated_us: Vec<i64>,
}

impl<'a> Rows<'a> {
    /// The projection of service `id` after an append (`first`: the one that created it).
    pub fn push(&mut self, id: &'a str, p: &'a ServiceProjection, first: bool) {
        let s = &p.summary;
        if first {
            self.new_id.push(id);
            self.new_name.push(&s.name);
            self.new_description.push(s.description.as_deref());
            self.new_created_at.push(&s.created_at);
            self.new_updated_at.push(&s.updated_at);
            self.new_updated_us.push(s.updated_us);
        } else {
            self.id.push(id);
            self.name.push(&s.name);
            self.description.push(s.description.as_deref());
            self.updated_at.push(&s.updated_at);
            self.updated_us.push(s.updated_us);
        }
    }

    /// Which of its CTEs have rows.
    pub fn parts(&self) -> Parts {
        Parts(
            Parts::when(Parts::SERVICES_NEW, &self.new_id)
                | Parts::when(Parts::SERVICES_CHANGED, &self.id),
        )
    }

    /// The statement's CTEs for the `parts` it has (parameters numbered on from `p`).
    pub fn sql(p: &mut Placeholders, parts: Parts) -> String {
        let mut sql = String::new();
        if parts.has(Parts::SERVICES_NEW) {
            let cols: Vec<String> = ["text[]", "text[]", "text[]", "text[]", "text[]", "int8[]"]
                .iter()
                .map(|t| p.next(t))
                .collect();
            sql += &format!(
                ",
         services_new AS (
            INSERT INTO services (id, name, description, created_at, updated_at, updated_us)
            SELECT n.* FROM unnest({})
                AS n(id, name, description, created_at, updated_at, updated_us)
            WHERE n.id IN (SELECT id FROM ok)
         )",
                cols.join(", ")
            );
        }
        if parts.has(Parts::SERVICES_CHANGED) {
            let cols: Vec<String> = ["text[]", "text[]", "text[]", "text[]", "int8[]"]
                .iter()
                .map(|t| p.next(t))
                .collect();
            sql += &format!(
                ",
         services_changed AS (
            UPDATE services v SET name = c.name, description = c.description,
                updated_at = c.updated_at, updated_us = c.updated_us
            FROM unnest({}) AS c(id, name, description, updated_at, updated_us)
            WHERE v.id = c.id AND c.id IN (SELECT id FROM ok)
         )",
                cols.join(", ")
            );
        }
        sql
    }

    /// The parameters of the `parts` it has, in the order of [`Rows::sql`].
    pub fn params<'b>(&'b self, out: &mut Vec<&'b (dyn ToSql + Sync)>, parts: Parts) {
        if parts.has(Parts::SERVICES_NEW) {
            out.extend([
                &self.new_id as &(dyn ToSql + Sync),
                &self.new_name,
                &self.new_description,
                &self.new_created_at,
                &self.new_updated_at,
                &self.new_updated_us,
            ]);
        }
        if parts.has(Parts::SERVICES_CHANGED) {
            out.extend([
                &self.id as &(dyn ToSql + Sync),
                &self.name,
                &self.description,
                &self.updated_at,
                &self.updated_us,
            ]);
        }
    }
}

const COLS: &str =
    "v.id, v.name, v.description, v.created_at, v.updated_at, v.updated_us, s.last_seq";

fn row(r: &Row) -> Result<ServiceSummary> {
    Ok(ServiceSummary {
        id: Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt)?,
        name: r.get(1),
        description: r.get(2),
        created_at: r.get(3),
        updated_at: r.get(4),
        updated_us: r.get(5),
        last_seq: r.get::<_, i64>(6) as u64,
    })
}

impl PgStore {
    pub(crate) async fn service_by_name(&self, name: &str) -> Result<Option<Uuid>> {
        let client = self.pool.get().await?;
        let r = client
            .query_opt("SELECT id FROM services WHERE name = $1", &[&name])
            .await?;
        r.map(|r| Uuid::parse_str(r.get::<_, &str>(0)).map_err(corrupt))
            .transpose()
    }

    pub(crate) async fn service_summary(&self, id: Uuid) -> Result<Option<ServiceSummary>> {
        let client = self.pool.get().await?;
        let r = client
            .query_opt(
                &format!(
                    "SELECT {COLS} FROM services v JOIN streams s ON s.id = v.id WHERE v.id = $1"
                ),
                &[&id.to_string()],
            )
            .await?;
        r.as_ref().map(row).transpose()
    }

    pub(crate) async fn list_services(&self, limit: u32) -> Result<Vec<ServiceSummary>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLS} FROM services v JOIN streams s ON s.id = v.id ORDER BY v.name LIMIT $1"
                ),
                &[&(limit as i64)],
            )
            .await?;
        rows.iter().map(row).collect()
    }
}
