//! The PostgreSQL backend, for several stateless `palisade serve` instances on one database.
//!
//! Appends to one incident are serialized by `SELECT … FOR UPDATE` on its projection row; appends
//! to different incidents proceed in parallel. Migrations run under an advisory lock so instances
//! starting together do not race.

use crate::OutboxItem;
use crate::sqlite::{now_text, parse_role};
use crate::verify::Verifier;
use crate::{
    AppendRequest, Appended, Authenticated, IncidentSummary, LedgerContext, ListFilter, NewToken,
    Result, SCHEMA_VERSION, StoreError, StoredCheckpoint, StoredEvent, TokenInfo, User, genesis,
    parse_hash_col, prepare_append,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use palisade_core::chain;
use palisade_core::{AccountRole, Kind, Severity, Status, UserName};
use tokio_postgres::NoTls;
use tokio_postgres::Row;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_evidence_outbox.sql"),
    include_str!("../migrations/postgres/0003_list_filter_index.sql"),
];
/// Advisory lock key held while migrating ("palisade" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7061_6c69_7361_6465;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    ctx: LedgerContext,
}

impl PgStore {
    /// Connect to `url` (a `postgres://` URL), migrate, and return the store.
    pub async fn open(url: &str, ctx: LedgerContext) -> Result<PgStore> {
        let store = PgStore {
            pool: pool(url, 16)?,
            ctx,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS palisade_schema (version BIGINT NOT NULL)")
            .await?;
        let current: i64 = tx
            .query_opt("SELECT version FROM palisade_schema", &[])
            .await?
            .map_or(0, |r| r.get(0));
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let v = i as i64 + 1;
            if v > current {
                tx.batch_execute(sql).await?;
            }
        }
        tx.execute("DELETE FROM palisade_schema", &[]).await?;
        tx.execute(
            "INSERT INTO palisade_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION.max(current)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn append(&self, req: AppendRequest) -> Result<Appended> {
        let bodies = crate::canonical_bodies(&req)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let id = req.incident.to_string();
        let p = &req.projection.summary;
        let (head, prev_cp) = if req.expected_last_seq == 0 {
            let taken = tx
                .query_opt(
                    &tx.prepare_cached("SELECT id FROM incidents WHERE id = $1 OR codename = $2")
                        .await?,
                    &[&id, &p.codename],
                )
                .await?;
            if let Some(t) = taken {
                let t: String = t.get(0);
                return Err(if t == id {
                    StoreError::Conflict {
                        incident: req.incident,
                        expected: 0,
                        found: 1,
                    }
                } else {
                    StoreError::CodenameTaken(p.codename.clone())
                });
            }
            let inserted = tx
                .execute(
                    &tx.prepare_cached("INSERT INTO incidents (id, codename, title, kind, severity, status, restricted, commander, declared_at, updated_at, updated_us, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0) ON CONFLICT DO NOTHING").await?,
                    &[
                        &id,
                        &p.codename,
                        &p.title,
                        &p.kind.as_str(),
                        &(p.severity.level() as i64),
                        &p.status.as_str(),
                        &p.restricted,
                        &p.commander,
                        &p.declared_at,
                        &p.updated_at,
                        &p.updated_us,
                    ],
                )
                .await?;
            if inserted == 0 {
                // Another instance took the id or the codename between the check and the insert.
                return Err(StoreError::CodenameTaken(p.codename.clone()));
            }
            (genesis(), genesis())
        } else {
            // Serialize appends to this incident on its projection row; the chain head itself is
            // read from the ledger below, never from the (untrusted) projection.
            tx.query_opt(
                &tx.prepare_cached("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE")
                    .await?,
                &[&id],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?;
            let found: i64 = tx
                .query_one(
                    &tx.prepare_cached(
                        "SELECT coalesce(max(seq), 0) FROM ledger_events WHERE incident_id = $1",
                    )
                    .await?,
                    &[&id],
                )
                .await?
                .get(0);
            if found as u64 != req.expected_last_seq {
                return Err(StoreError::Conflict {
                    incident: req.incident,
                    expected: req.expected_last_seq,
                    found: found as u64,
                });
            }
            let head: String = tx
                .query_one(
                    &tx.prepare_cached(
                        "SELECT hash FROM ledger_events WHERE incident_id = $1 AND seq = $2",
                    )
                    .await?,
                    &[&id, &found],
                )
                .await?
                .get(0);
            let prev = tx
                .query_opt(
                    &tx.prepare_cached("SELECT body, signature FROM ledger_checkpoints WHERE incident_id = $1 ORDER BY seq DESC LIMIT 1").await?,
                    &[&id],
                )
                .await?;
            let link = prev.map_or_else(genesis, |r| {
                chain::link_hash(r.get::<_, &str>(0), r.get::<_, &str>(1))
            });
            (parse_hash_col(&head, "stored event hash")?, link)
        };
        let prepared = prepare_append(&self.ctx.signer, &req, bodies, head, prev_cp)?;
        let ins = tx
            .prepare_cached(
                "INSERT INTO ledger_events (incident_id, seq, body, prev_hash, hash, recorded_at_us) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        for r in &prepared.rows {
            tx.execute(
                &ins,
                &[
                    &id,
                    &(r.seq as i64),
                    &r.body,
                    &r.prev_hash,
                    &r.hash,
                    &r.recorded_at_us,
                ],
            )
            .await?;
        }
        tx.execute(
            &tx.prepare_cached("INSERT INTO ledger_checkpoints (incident_id, seq, body, signature) VALUES ($1, $2, $3, $4)").await?,
            &[
                &id,
                &(prepared.checkpoint.body.seq as i64),
                &prepared.checkpoint_body,
                &prepared.checkpoint.signature,
            ],
        )
        .await?;
        tx.execute(
            &tx.prepare_cached("UPDATE incidents SET title = $2, severity = $3, status = $4, restricted = $5, commander = $6, updated_at = $7, updated_us = $8, last_seq = $9 WHERE id = $1").await?,
            &[
                &id,
                &p.title,
                &(p.severity.level() as i64),
                &p.status.as_str(),
                &p.restricted,
                &p.commander,
                &p.updated_at,
                &p.updated_us,
                &(p.last_seq as i64),
            ],
        )
        .await?;
        let member = tx
            .prepare_cached(
                "INSERT INTO incident_members (incident_id, user_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .await?;
        for m in &req.projection.members {
            tx.execute(&member, &[&id, m]).await?;
        }
        if !req.outbox.is_empty() {
            let ins = tx
                .prepare_cached(
                    "INSERT INTO outbox (id, incident_id, kind, payload, created_at, next_attempt_us) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await?;
            for m in &req.outbox {
                tx.execute(
                    &ins,
                    &[
                        &m.id.to_string(),
                        &id,
                        &m.kind,
                        &m.payload,
                        &m.created_at,
                        &m.due_us,
                    ],
                )
                .await?;
            }
        }
        tx.commit().await?;
        let witness = self.ctx.witness.clone();
        let cp = prepared.checkpoint.clone();
        tokio::task::spawn_blocking(move || witness.append(&[&cp]))
            .await
            .map_err(|e| StoreError::Corrupt(format!("witness task failed: {e}")))??;
        Ok(Appended {
            rows: prepared.rows,
            checkpoint: prepared.checkpoint,
        })
    }

    pub async fn stored_events(&self, incident: Uuid) -> Result<Vec<StoredEvent>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT seq, body, prev_hash, hash, recorded_at_us FROM ledger_events WHERE incident_id = $1 ORDER BY seq",
                &[&incident.to_string()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredEvent {
                incident,
                seq: r.get::<_, i64>(0) as u64,
                body: r.get(1),
                prev_hash: r.get(2),
                hash: r.get(3),
                recorded_at_us: r.get(4),
            })
            .collect())
    }

    pub async fn stored_checkpoints(&self, incident: Uuid) -> Result<Vec<StoredCheckpoint>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT seq, body, signature FROM ledger_checkpoints WHERE incident_id = $1 ORDER BY seq",
                &[&incident.to_string()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredCheckpoint {
                incident,
                seq: r.get::<_, i64>(0) as u64,
                body: r.get(1),
                signature: r.get(2),
            })
            .collect())
    }

    pub async fn find_by_codename(&self, codename: &str) -> Result<Option<Uuid>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt("SELECT id FROM incidents WHERE codename = $1", &[&codename])
            .await?;
        row.map(|r| {
            Uuid::parse_str(r.get::<_, &str>(0)).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    pub async fn event_bodies_after(&self, incident: Uuid, after: u64) -> Result<Vec<String>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT body FROM ledger_events WHERE incident_id = $1 AND seq > $2 ORDER BY seq",
                &[&incident.to_string(), &(after as i64)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn append_at_head(
        &self,
        incident: Uuid,
        actor: palisade_core::UserName,
        at: palisade_core::Timestamp,
        payloads: Vec<palisade_core::Payload>,
    ) -> Result<Appended> {
        loop {
            let (summary, head) = {
                let client = self.pool.get().await?;
                let row = client
                    .query_opt(
                        &format!("SELECT {SUMMARY_COLS} FROM incidents WHERE id = $1"),
                        &[&incident.to_string()],
                    )
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("incident {incident}")))?;
                let head: Option<i64> = client
                    .query_one(
                        "SELECT max(seq) FROM ledger_events WHERE incident_id = $1",
                        &[&incident.to_string()],
                    )
                    .await?
                    .get(0);
                (summary_row(&row)?, head.unwrap_or(0) as u64)
            };
            let events = palisade_core::incident::events_for(
                incident,
                head,
                &actor,
                at,
                None,
                payloads.clone(),
            );
            let mut summary = summary;
            summary.last_seq = head + events.len() as u64;
            let req = AppendRequest {
                incident,
                expected_last_seq: head,
                events,
                projection: crate::Projection {
                    summary,
                    members: Vec::new(),
                },
                outbox: Vec::new(),
            };
            match self.append(req).await {
                Err(StoreError::Conflict { .. }) => continue,
                other => return other,
            }
        }
    }

    pub async fn summary(&self, incident: Uuid) -> Result<Option<IncidentSummary>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {SUMMARY_COLS} FROM incidents WHERE id = $1"),
                &[&incident.to_string()],
            )
            .await?;
        row.as_ref().map(summary_row).transpose()
    }

    pub async fn list(&self, f: &ListFilter) -> Result<Vec<IncidentSummary>> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {SUMMARY_COLS} FROM incidents i
             WHERE (NOT i.restricted OR EXISTS (SELECT 1 FROM incident_members m WHERE m.incident_id = i.id AND m.user_name = $1))
               AND ($2::text IS NULL OR i.status = $2)
               AND ($3::bigint IS NULL OR i.severity = $3)
               AND ($4::text IS NULL OR i.kind = $4)
             ORDER BY i.updated_us DESC, i.id
             LIMIT $5"
        );
        let rows = client
            .query(
                &sql,
                &[
                    &f.viewer.as_str(),
                    &f.status.map(|s| s.as_str()),
                    &f.severity.map(|s| s.level() as i64),
                    &f.kind.map(|k| k.as_str()),
                    &(f.limit as i64),
                ],
            )
            .await?;
        rows.iter().map(summary_row).collect()
    }

    pub async fn create_user(&self, name: &UserName, role: AccountRole) -> Result<User> {
        let client = self.pool.get().await?;
        let created_at = now_text();
        let n = client
            .execute(
                "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                &[&name.as_str(), &role.as_str(), &created_at],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(format!("user {name}")));
        }
        Ok(User {
            name: name.clone(),
            role,
            created_at,
        })
    }

    pub async fn user(&self, name: &UserName) -> Result<Option<User>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT name, role, created_at FROM users WHERE name = $1",
                &[&name.as_str()],
            )
            .await?;
        row.map(|r| {
            Ok(User {
                name: UserName::parse(r.get::<_, &str>(0))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                role: parse_role(r.get::<_, &str>(1))?,
                created_at: r.get(2),
            })
        })
        .transpose()
    }

    pub async fn user_count(&self) -> Result<u64> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM users", &[])
            .await?
            .get(0);
        Ok(n as u64)
    }

    pub async fn insert_token(&self, t: &NewToken) -> Result<TokenInfo> {
        let client = self.pool.get().await?;
        let user = self
            .user(&t.user)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {}", t.user)))?;
        client
            .execute(
                "INSERT INTO api_tokens (id, user_name, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&t.id, &t.user.as_str(), &t.label, &t.token_hash, &t.created_at],
            )
            .await?;
        Ok(TokenInfo {
            id: t.id.clone(),
            user: t.user.to_string(),
            role: user.role,
            label: t.label.clone(),
            created_at: t.created_at.clone(),
            revoked_at: None,
        })
    }

    pub async fn authenticate(&self, token_hash: &str) -> Result<Option<Authenticated>> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT t.id, u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            )
            .await?;
        let row = client.query_opt(&stmt, &[&token_hash]).await?;
        row.map(|r| {
            Ok(Authenticated {
                token_id: r.get(0),
                user: UserName::parse(r.get::<_, &str>(1))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                role: parse_role(r.get::<_, &str>(2))?,
            })
        })
        .transpose()
    }

    pub async fn revoke_token(&self, id: &str, at: &str) -> Result<bool> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &at],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT t.id, t.user_name, u.role, t.label, t.created_at, t.revoked_at
                 FROM api_tokens t JOIN users u ON u.name = t.user_name ORDER BY t.created_at, t.id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: r.get(0),
                    user: r.get(1),
                    role: parse_role(r.get::<_, &str>(2))?,
                    label: r.get(3),
                    created_at: r.get(4),
                    revoked_at: r.get(5),
                })
            })
            .collect()
    }

    pub async fn register_key(&self, key_id: &str, public_hex: &str, at: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
                &[&key_id, &public_hex, &at],
            )
            .await?;
        Ok(())
    }

    pub async fn incident_key(&self, incident: Uuid) -> Result<Option<String>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT wrapped FROM incident_keys WHERE incident_id = $1",
                &[&incident.to_string()],
            )
            .await?
            .map(|r| r.get(0)))
    }

    pub async fn put_incident_key(
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

    /// Claim due messages; several servers may claim concurrently (`SKIP LOCKED`), and a claim
    /// is a lease: a message not marked delivered is due again after `lease_us`.
    pub async fn outbox_claim(
        &self,
        now_us: i64,
        lease_us: i64,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_us = $2
                 WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_us <= $1
                              ORDER BY next_attempt_us LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING id, incident_id, kind, payload, created_at, attempts",
                &[&now_us, &(now_us + lease_us), &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxItem {
                    id: Uuid::parse_str(r.get::<_, &str>(0))
                        .map_err(|e| StoreError::Corrupt(format!("outbox id: {e}")))?,
                    incident: r
                        .get::<_, Option<&str>>(1)
                        .map(Uuid::parse_str)
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(format!("outbox incident: {e}")))?,
                    kind: r.get(2),
                    payload: r.get(3),
                    created_at: r.get(4),
                    attempts: r.get::<_, i32>(5) as u32,
                })
            })
            .collect()
    }

    pub async fn outbox_done(&self, id: Uuid, at: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE outbox SET delivered_at = $2, last_error = NULL WHERE id = $1",
                &[&id.to_string(), &at],
            )
            .await?;
        Ok(())
    }

    pub async fn outbox_retry(&self, id: Uuid, error: &str, next_us: i64) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE outbox SET last_error = $2, next_attempt_us = $3 WHERE id = $1",
                &[&id.to_string(), &error, &next_us],
            )
            .await?;
        Ok(())
    }

    pub async fn outbox_pending(&self) -> Result<u64> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one(
                "SELECT count(*) FROM outbox WHERE delivered_at IS NULL",
                &[],
            )
            .await?
            .get::<_, i64>(0) as u64)
    }

    pub async fn feed_verifier(&self, v: &mut Verifier) -> Result<()> {
        feed(&self.pool, v).await
    }
}

/// Feed a verifier from PostgreSQL, streaming rows in one repeatable-read snapshot.
pub async fn feed(pool: &Pool, v: &mut Verifier) -> Result<()> {
    use futures_util::{StreamExt, pin_mut};
    let mut client = pool.get().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 0] = [];
    let stream = tx
        .query_raw(
            "SELECT incident_id, seq, body, prev_hash, hash FROM ledger_events ORDER BY incident_id COLLATE \"C\", seq",
            params,
        )
        .await?;
    pin_mut!(stream);
    while let Some(row) = stream.next().await {
        let r = row?;
        let (incident, body, prev, hash): (&str, &str, &str, &str) =
            (r.get(0), r.get(2), r.get(3), r.get(4));
        v.event(
            incident.as_bytes(),
            r.get(1),
            body.as_bytes(),
            prev.as_bytes(),
            hash.as_bytes(),
        );
    }
    let stream = tx
        .query_raw(
            "SELECT incident_id, seq, body, signature FROM ledger_checkpoints ORDER BY incident_id COLLATE \"C\", seq",
            params,
        )
        .await?;
    pin_mut!(stream);
    while let Some(row) = stream.next().await {
        let r = row?;
        v.checkpoint(r.get(0), r.get(1), r.get(2), r.get(3));
    }
    v.end_of_input();
    tx.commit().await?;
    Ok(())
}

/// Connect a pool for verification without migrating (verify never writes).
pub async fn connect_for_verify(url: &str) -> Result<Pool> {
    pool(url, 2)
}

fn pool(url: &str, max_size: usize) -> Result<Pool> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Postgres(format!("invalid database URL: {e}")))?;
    let mgr = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(max_size)
        .build()
        .map_err(|e| StoreError::Postgres(e.to_string()))
}

const SUMMARY_COLS: &str = "id, codename, title, kind, severity, status, restricted, commander, declared_at, updated_at, updated_us, last_seq";

fn summary_row(r: &Row) -> Result<IncidentSummary> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
    Ok(IncidentSummary {
        id: Uuid::parse_str(r.get::<_, &str>(0)).map_err(|e| corrupt(&e))?,
        codename: r.get(1),
        title: r.get(2),
        kind: r
            .get::<_, &str>(3)
            .parse::<Kind>()
            .map_err(|e| corrupt(&e))?,
        severity: Severity::new(r.get::<_, i64>(4) as u8)
            .ok_or_else(|| StoreError::Corrupt("severity out of range".into()))?,
        status: r
            .get::<_, &str>(5)
            .parse::<Status>()
            .map_err(|e| corrupt(&e))?,
        restricted: r.get(6),
        commander: r.get(7),
        declared_at: r.get(8),
        updated_at: r.get(9),
        updated_us: r.get(10),
        last_seq: r.get::<_, i64>(11) as u64,
    })
}
