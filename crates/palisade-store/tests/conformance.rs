//! One conformance suite, run against every backend: embedded SQLite always, PostgreSQL when
//! `PALISADE_TEST_DATABASE_URL` is set (required when `CI=true`). Each PostgreSQL test gets a
//! fresh schema of its own.

use palisade_core::incident::{Command, Declaration, declare, events_for};
use palisade_core::{
    AccountRole, Actor, IncidentState, Kind, Playbook, Role, Severity, Status, Timestamp, UserName,
};
use palisade_store::{
    AppendRequest, ListFilter, NewToken, Store, StoreConfig, StoreError, VerifyTarget,
};
use std::path::PathBuf;
use uuid::Uuid;

struct TestStore {
    name: &'static str,
    store: Store,
    key: ed25519_dalek::VerifyingKey,
    dir: tempfile::TempDir,
    pg_url: Option<String>,
}

fn pg_base() -> Option<String> {
    match std::env::var("PALISADE_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true but PALISADE_TEST_DATABASE_URL is not set: the PostgreSQL suite is required in CI"
                );
            }
            eprintln!(
                "SKIP PostgreSQL backend: PALISADE_TEST_DATABASE_URL is not set (SQLite only)"
            );
            None
        }
    }
}

async fn fresh_schema(base: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to PALISADE_TEST_DATABASE_URL");
    tokio::spawn(conn);
    let schema = format!("t_{}", Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

async fn backends() -> Vec<TestStore> {
    let mut out = Vec::new();
    let mut urls: Vec<(&'static str, Option<String>)> = vec![("sqlite", None)];
    if let Some(base) = pg_base() {
        urls.push(("postgres", Some(fresh_schema(&base).await)));
    }
    for (name, url) in urls {
        let dir = tempfile::tempdir().unwrap();
        let opened = Store::open(&StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: url.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("{name}: open: {e}"));
        out.push(TestStore {
            name,
            store: opened.store,
            key: opened.signer.verifying_key(),
            dir,
            pg_url: url,
        });
    }
    out
}

impl TestStore {
    fn target(&self) -> VerifyTarget {
        match &self.pg_url {
            Some(u) => VerifyTarget::Postgres(u.clone()),
            None => VerifyTarget::DataDir(self.dir.path().to_path_buf()),
        }
    }
    fn witness(&self) -> PathBuf {
        self.dir.path().join("witness.log")
    }
    async fn verify(&self) -> palisade_store::verify::Report {
        palisade_store::verify(
            &self.target(),
            self.key,
            &palisade_store::VerifyOptions {
                witnesses: vec![self.witness()],
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    /// Run raw SQL as an attacker with database access would: with the append-only triggers off.
    async fn tamper(&self, sql: &str) {
        match &self.pg_url {
            None => {
                let c = rusqlite::Connection::open(self.dir.path().join("palisade.db")).unwrap();
                c.execute_batch(
                    "DROP TRIGGER IF EXISTS ledger_events_no_update; DROP TRIGGER IF EXISTS ledger_events_no_delete;
                     DROP TRIGGER IF EXISTS ledger_checkpoints_no_update; DROP TRIGGER IF EXISTS ledger_checkpoints_no_delete;",
                )
                .unwrap();
                c.execute_batch(sql).unwrap();
            }
            Some(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute(&format!(
                        "BEGIN; ALTER TABLE ledger_events DISABLE TRIGGER USER; ALTER TABLE ledger_checkpoints DISABLE TRIGGER USER;
                         {sql};
                         ALTER TABLE ledger_events ENABLE TRIGGER USER; ALTER TABLE ledger_checkpoints ENABLE TRIGGER USER; COMMIT;"
                    ))
                    .await
                    .unwrap();
            }
        }
    }

    /// Raw SQL with the triggers in place; returns the database's error message if refused.
    async fn raw(&self, sql: &str) -> Result<(), String> {
        match &self.pg_url {
            None => {
                let c = rusqlite::Connection::open(self.dir.path().join("palisade.db")).unwrap();
                c.execute_batch(sql).map_err(|e| e.to_string())
            }
            Some(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client.batch_execute(sql).await.map_err(|e| {
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_string())
                })
            }
        }
    }
}

fn user(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}

fn t(secs: i64) -> Timestamp {
    Timestamp(time::OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).unwrap())
}

/// Declare a security incident and run `commands` through the core, appending each.
async fn incident(store: &Store, codename: &str, commands: &[Command]) -> IncidentState {
    let id = Uuid::new_v4();
    let dana = Actor {
        user: user("dana"),
        account_role: AccountRole::Responder,
    };
    let declared = declare(
        Declaration {
            title: format!("incident {codename}"),
            kind: Kind::Security,
            severity: Severity::SEV2,
            restricted: None,
            summary: None,
            playbook: Playbook::builtin_security(),
        },
        codename.into(),
    )
    .unwrap();
    let events = events_for(id, 0, &dana.user, t(0), None, vec![declared]);
    let mut state = IncidentState::fold(&events).unwrap();
    store
        .append(AppendRequest::for_incident(&state, 0, &events).unwrap())
        .await
        .unwrap();
    for (i, cmd) in commands.iter().enumerate() {
        let payloads = state.decide(&dana, cmd, &ctx()).unwrap();
        let events = events_for(
            id,
            state.last_seq,
            &dana.user,
            t(i as i64 + 1),
            None,
            payloads,
        );
        let before = state.last_seq;
        for e in &events {
            state.apply(e).unwrap();
        }
        store
            .append(AppendRequest::for_incident(&state, before, &events).unwrap())
            .await
            .unwrap();
    }
    state
}

fn some_commands() -> Vec<Command> {
    vec![
        Command::AssignRole {
            user: user("dana"),
            role: Role::IncidentCommander,
        },
        Command::StartStep { step: 1 },
        Command::CompleteStep {
            step: 1,
            note: Some("blocked the IP range".into()),
        },
        Command::AddNote {
            text: "attacker used a leaked key".into(),
        },
        Command::CompleteStep {
            step: 2,
            note: None,
        },
    ]
}

#[tokio::test]
async fn appended_events_read_back_and_fold_to_the_same_state() {
    for b in backends().await {
        let live = incident(&b.store, "amber-falcon", &some_commands()).await;
        let events = palisade_test_support::incident_events(&b.store, live.id).await;
        assert_eq!(events.len(), 6, "{}", b.name);
        assert_eq!(IncidentState::fold(&events).unwrap(), live, "{}", b.name);
        let rows = b.store.stored_events(live.id).await.unwrap();
        assert_eq!(rows[0].prev_hash, "0".repeat(64), "{}", b.name);
        assert_eq!(rows[1].prev_hash, rows[0].hash, "{}", b.name);
        let summary = b.store.incident_summary(live.id).await.unwrap().unwrap();
        assert_eq!(summary.status, Status::Investigating, "{}", b.name);
        assert_eq!(summary.commander.as_deref(), Some("dana"), "{}", b.name);
        assert_eq!(summary.last_seq, 6);
        assert_eq!(
            b.store.resolve_incident("amber-falcon").await.unwrap(),
            Some(live.id),
            "{}",
            b.name
        );
        assert_eq!(
            b.store
                .resolve_incident(&live.id.to_string())
                .await
                .unwrap(),
            Some(live.id)
        );
        assert_eq!(b.store.resolve_incident("no-such").await.unwrap(), None);
        let report = b.verify().await;
        assert!(report.ok(), "{}: {:?}", b.name, report.failures);
        assert_eq!(
            (report.streams, report.events, report.checkpoints),
            (1, 6, 6),
            "{}",
            b.name
        );
        assert_eq!(report.witness_entries, 6, "{}", b.name);
    }
}

#[tokio::test]
async fn a_stale_append_is_refused_and_writes_nothing() {
    for b in backends().await {
        let s = incident(&b.store, "calm-otter", &some_commands()[..1]).await;
        let dana = user("dana");
        let events = events_for(
            s.id,
            1, // stale: the ledger is at 2
            &dana,
            t(99),
            None,
            vec![palisade_core::Payload::NoteAdded {
                text: "late".into(),
            }],
        );
        let err = b
            .store
            .append(AppendRequest::for_incident(&s, 1, &events).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    expected: 1,
                    found: 2,
                    ..
                }
            ),
            "{}: {err}",
            b.name
        );
        assert_eq!(
            palisade_test_support::incident_events(&b.store, s.id)
                .await
                .len(),
            2,
            "{}",
            b.name
        );
        // A second incident with the same codename is refused too.
        let id = Uuid::new_v4();
        let mut other = s.clone();
        other.id = id;
        let declared = events_for(
            id,
            0,
            &dana,
            t(0),
            None,
            vec![
                palisade_test_support::incident_events(&b.store, s.id).await[0]
                    .data
                    .clone(),
            ],
        );
        let err = b
            .store
            .append(AppendRequest::for_incident(&other, 0, &declared).unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Taken(_)), "{}: {err}", b.name);
        assert!(b.store.incident_summary(id).await.unwrap().is_none());
        assert!(b.verify().await.ok(), "{}", b.name);
    }
}

#[tokio::test]
async fn listing_hides_restricted_incidents_from_non_members_and_filters() {
    for b in backends().await {
        let restricted = incident(&b.store, "quiet-heron", &some_commands()).await;
        let filter = |viewer: &str| ListFilter {
            viewer: user(viewer),
            status: None,
            severity: None,
            kind: None,
            mine: false,
            limit: 100,
        };
        let seen: Vec<Uuid> = b
            .store
            .list_incidents(&filter("dana"))
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(seen, vec![restricted.id], "{}", b.name);
        assert!(
            b.store
                .list_incidents(&filter("eve"))
                .await
                .unwrap()
                .is_empty(),
            "{}",
            b.name
        );
        let mut f = filter("dana");
        f.status = Some(Status::Declared);
        assert!(
            b.store.list_incidents(&f).await.unwrap().is_empty(),
            "{}",
            b.name
        );
        f.status = Some(Status::Investigating);
        f.severity = Some(Severity::SEV2);
        f.kind = Some(Kind::Security);
        assert_eq!(
            b.store.list_incidents(&f).await.unwrap().len(),
            1,
            "{}",
            b.name
        );
        f.kind = Some(Kind::Operational);
        assert!(
            b.store.list_incidents(&f).await.unwrap().is_empty(),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn attachments_are_kept_once_per_content_and_read_back_whole() {
    for b in backends().await {
        let content: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        let key = "ab".repeat(32);
        assert_eq!(b.store.attachment(&key).await.unwrap(), None, "{}", b.name);
        b.store.put_attachment(&key, content.clone()).await.unwrap();
        // Kept again under the same digest: a no-op, the first content stays.
        b.store
            .put_attachment(&key, b"other".to_vec())
            .await
            .unwrap();
        assert_eq!(
            b.store.attachment(&key).await.unwrap().as_deref(),
            Some(content.as_slice()),
            "{}",
            b.name
        );
        b.store.put_attachment("empty", Vec::new()).await.unwrap();
        assert_eq!(
            b.store.attachment("empty").await.unwrap(),
            Some(Vec::new()),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn tokens_authenticate_until_revoked_and_only_hashes_are_stored() {
    for b in backends().await {
        let alice = user("alice");
        b.store
            .create_user(&alice, AccountRole::Responder)
            .await
            .unwrap();
        assert!(matches!(
            b.store.create_user(&alice, AccountRole::Admin).await,
            Err(StoreError::AlreadyExists(_))
        ));
        let info = b
            .store
            .insert_token(&NewToken {
                id: "tok1".into(),
                user: alice.clone(),
                label: "laptop".into(),
                token_hash: "ab".repeat(32),
                created_at: "2026-11-26T00:00:00Z".into(),
            })
            .await
            .unwrap();
        assert_eq!(info.role, AccountRole::Responder);
        let who = b
            .store
            .authenticate(&"ab".repeat(32))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (who.user.as_str(), who.role),
            ("alice", AccountRole::Responder),
            "{}",
            b.name
        );
        assert!(
            b.store
                .authenticate(&"cd".repeat(32))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            b.store
                .revoke_token("tok1", "2026-11-26T01:00:00Z")
                .await
                .unwrap(),
            palisade_store::Revoked::Done
        );
        assert_eq!(
            b.store
                .revoke_token("tok1", "2026-11-26T01:00:00Z")
                .await
                .unwrap(),
            palisade_store::Revoked::NotFound
        );
        assert!(
            b.store
                .authenticate(&"ab".repeat(32))
                .await
                .unwrap()
                .is_none(),
            "{}",
            b.name
        );
        let tokens = b.store.list_tokens().await.unwrap();
        assert_eq!(
            tokens[0].revoked_at.as_deref(),
            Some("2026-11-26T01:00:00Z")
        );
        assert_eq!(b.store.user_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn ledger_rows_can_never_be_updated_or_deleted() {
    for b in backends().await {
        incident(&b.store, "brave-lynx", &some_commands()).await;
        for sql in [
            "UPDATE ledger_events SET body = 'x' WHERE seq = 2",
            "DELETE FROM ledger_events WHERE seq = 6",
            "UPDATE ledger_checkpoints SET signature = 'x' WHERE seq = 2",
            "DELETE FROM ledger_checkpoints WHERE seq = 6",
        ] {
            let err = b.raw(sql).await.expect_err(sql);
            assert!(err.contains("append-only"), "{}: {sql}: {err}", b.name);
        }
        if b.pg_url.is_some() {
            let err = b.raw("TRUNCATE ledger_checkpoints").await.unwrap_err();
            assert!(err.contains("append-only"), "{err}");
        }
        assert!(b.verify().await.ok(), "{}", b.name);
    }
}

/// Tamper with a ledger, then check verify names the incident, the event and what differs.
async fn tampered(sql_for: impl Fn(&str) -> String, expect_seq: u64, expect: &str) {
    for b in backends().await {
        let s = incident(&b.store, "tidy-wren", &some_commands()).await;
        incident(&b.store, "sunny-moose", &some_commands()).await;
        let report = b.verify().await;
        assert!(report.ok(), "{}: {:?}", b.name, report.failures);
        b.tamper(&sql_for(&s.id.to_string())).await;
        let report = b.verify().await;
        let first = report
            .failures
            .first()
            .unwrap_or_else(|| panic!("{}: tampering went undetected ({expect})", b.name));
        assert_eq!(
            first.stream.as_deref(),
            Some(s.id.to_string().as_str()),
            "{}: {first:?}",
            b.name
        );
        assert_eq!(first.seq, Some(expect_seq), "{}: {first:?}", b.name);
        assert!(
            first.what.contains(expect),
            "{}: {:?} does not mention {expect:?}",
            b.name,
            first.what
        );
    }
}

#[tokio::test]
async fn verify_detects_a_changed_field() {
    tampered(
        |id| format!("UPDATE ledger_events SET body = replace(body, 'leaked key', 'phished key') WHERE stream_id = '{id}' AND seq = 5"),
        5,
        "field of this event was changed",
    )
    .await;
}

#[tokio::test]
async fn verify_detects_a_deleted_row_in_the_middle() {
    tampered(
        |id| format!("DELETE FROM ledger_events WHERE stream_id = '{id}' AND seq = 3"),
        4,
        "event 3 is missing",
    )
    .await;
}

#[tokio::test]
async fn verify_detects_two_swapped_rows() {
    tampered(
        |id| {
            format!(
                "UPDATE ledger_events SET seq = -1 WHERE stream_id = '{id}' AND seq = 3;
                 UPDATE ledger_events SET seq = 3 WHERE stream_id = '{id}' AND seq = 4;
                 UPDATE ledger_events SET seq = 4 WHERE stream_id = '{id}' AND seq = -1"
            )
        },
        3,
        "prev_hash does not equal the hash of event 2",
    )
    .await;
}

#[tokio::test]
async fn verify_detects_a_forged_newest_signature() {
    tampered(
        |id| format!("UPDATE ledger_checkpoints SET signature = '{}' WHERE stream_id = '{id}' AND seq = 6", "ab".repeat(64)),
        6,
        "signature does not verify",
    )
    .await;
}

#[tokio::test]
async fn verify_detects_a_forged_older_signature_through_the_checkpoint_chain() {
    tampered(
        |id| format!("UPDATE ledger_checkpoints SET signature = '{}' WHERE stream_id = '{id}' AND seq = 3", "cd".repeat(64)),
        4,
        "does not link to the previous checkpoint",
    )
    .await;
}

#[tokio::test]
async fn verify_detects_a_rewritten_chain_without_the_key() {
    // Change an event and recompute every hash after it: the chain is consistent again, but the
    // signed checkpoints no longer match.
    for b in backends().await {
        let s = incident(&b.store, "lucky-ibis", &some_commands()).await;
        let rows = b.store.stored_events(s.id).await.unwrap();
        let mut prev = palisade_core::chain::parse_hash(&rows[4].prev_hash).unwrap();
        let mut sql = String::new();
        for r in &rows[4..] {
            let body = r.body.replace("leaked key", "phished key");
            let h = palisade_core::chain::event_hash(&prev, body.as_bytes());
            sql.push_str(&format!(
                "UPDATE ledger_events SET body = '{}', prev_hash = '{}', hash = '{}' WHERE stream_id = '{}' AND seq = {};",
                body.replace('\'', "''"),
                hex::encode(prev),
                hex::encode(h),
                s.id,
                r.seq
            ));
            prev = h;
        }
        b.tamper(&sql).await;
        let report = b.verify().await;
        let first = report.failures.first().expect("rewrite detected");
        assert_eq!(first.seq, Some(5), "{}: {first:?}", b.name);
        assert!(
            first.what.contains("head does not equal"),
            "{}: {first:?}",
            b.name
        );
    }
}

#[tokio::test]
async fn verify_detects_truncation_only_with_the_witness() {
    for b in backends().await {
        let s = incident(&b.store, "noble-crane", &some_commands()).await;
        b.tamper(&format!(
            "DELETE FROM ledger_checkpoints WHERE stream_id = '{id}' AND seq > 4;
             DELETE FROM ledger_events WHERE stream_id = '{id}' AND seq > 4",
            id = s.id
        ))
        .await;
        // The database alone is consistent: this is what it cannot prove.
        let alone = palisade_store::verify(
            &b.target(),
            b.key,
            &palisade_store::VerifyOptions {
                no_witness: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        if b.pg_url.is_some() {
            assert!(alone.ok(), "{}: {:?}", b.name, alone.failures);
        } else {
            // A data directory brings its own witness log along.
            assert!(!alone.ok(), "{}", b.name);
        }
        // Without a witness log (a PostgreSQL database given none, a data directory whose log
        // is gone), verify cannot rule out truncation and says so, unless told --no-witness.
        let _ = std::fs::rename(b.witness(), b.dir.path().join("witness.log.moved"));
        let blind = palisade_store::verify(&b.target(), b.key, &Default::default())
            .await
            .unwrap();
        assert!(!blind.ok(), "{}: truncation passed unnoticed", b.name);
        assert!(
            blind.failures.last().unwrap().what.contains("cannot show"),
            "{}: {:?}",
            b.name,
            blind.failures
        );
        let _ = std::fs::rename(b.dir.path().join("witness.log.moved"), b.witness());
        let report = b.verify().await;
        let first = report.failures.first().expect("truncation detected");
        assert_eq!(first.seq, Some(6), "{}: {first:?}", b.name);
        assert!(first.what.contains("truncation"), "{}: {first:?}", b.name);
        assert!(
            first.what.contains("events only up to 4"),
            "{}: {first:?}",
            b.name
        );
    }
}

#[tokio::test]
async fn verify_takes_every_nodes_witness_log_and_checks_their_union() {
    for b in backends().await {
        let s = incident(&b.store, "eager-swift", &some_commands()).await;
        // Two nodes' logs: each holds some of the checkpoints.
        let text = std::fs::read_to_string(b.witness()).unwrap();
        let (mut a, mut c) = (String::new(), String::new());
        for (i, line) in text.lines().enumerate() {
            let half = if i % 2 == 0 { &mut a } else { &mut c };
            half.push_str(line);
            half.push('\n');
        }
        let (wa, wc) = (
            b.dir.path().join("node-a.witness.log"),
            b.dir.path().join("node-b.witness.log"),
        );
        std::fs::write(&wa, &a).unwrap();
        std::fs::write(&wc, &c).unwrap();
        std::fs::remove_file(b.witness()).unwrap();
        let opts = palisade_store::VerifyOptions {
            witnesses: vec![wa.clone(), wc.clone()],
            ..Default::default()
        };
        let both = palisade_store::verify(&b.target(), b.key, &opts)
            .await
            .unwrap();
        assert!(both.ok(), "{}: {:?}", b.name, both.failures);
        assert_eq!(both.witness_logs.len(), 2, "{}", b.name);
        assert_eq!(
            both.witness_entries,
            text.lines().count() as u64,
            "{}",
            b.name
        );
        // The newest events removed: the log that holds their checkpoint shows it.
        b.tamper(&format!(
            "DELETE FROM ledger_checkpoints WHERE stream_id = '{id}' AND seq > 4;
             DELETE FROM ledger_events WHERE stream_id = '{id}' AND seq > 4",
            id = s.id
        ))
        .await;
        let cut = palisade_store::verify(&b.target(), b.key, &opts)
            .await
            .unwrap();
        assert!(
            cut.failures.iter().any(|f| f.what.contains("truncation")),
            "{}: {:?}",
            b.name,
            cut.failures
        );
    }
}

#[tokio::test]
async fn a_witness_line_verifies_only_if_every_member_is_the_databases() {
    for b in backends().await {
        incident(&b.store, "calm-plover", &some_commands()).await;
        assert!(b.verify().await.ok(), "{}", b.name);
        let original = std::fs::read_to_string(b.witness()).unwrap();
        let first = original.lines().next().unwrap().to_string();
        let cp: serde_json::Value = serde_json::from_str(&first).unwrap();
        // Change one member of the first line at a time, keeping its signature.
        let edits: Vec<(&str, serde_json::Value)> = vec![
            ("head", serde_json::json!("00".repeat(32))),
            ("prev", serde_json::json!("11".repeat(32))),
            ("signed_at", serde_json::json!("2020-01-01T00:00:00Z")),
            ("key_id", serde_json::json!("0011223344556677")),
            ("format", serde_json::json!(1)),
        ];
        for (member, value) in edits {
            let mut edited = cp.clone();
            edited[member] = value;
            if member == "format" {
                // A format-1 line names an incident, not a stream.
                let stream = edited["stream"].as_str().unwrap().to_string();
                let o = edited.as_object_mut().unwrap();
                o.remove("stream");
                o.insert(
                    "incident".into(),
                    serde_json::json!(stream.trim_start_matches("incident/")),
                );
            }
            let text = original.replacen(&first, &serde_json::to_string(&edited).unwrap(), 1);
            std::fs::write(b.witness(), text).unwrap();
            let report = b.verify().await;
            assert!(
                report
                    .failures
                    .iter()
                    .any(|f| f.what.contains("differs from the one in the witness log")),
                "{}: editing `{member}` of a witness line went unnoticed: {:?}",
                b.name,
                report.failures
            );
        }
        std::fs::write(b.witness(), &original).unwrap();
        assert!(b.verify().await.ok(), "{}", b.name);
    }
}

#[tokio::test]
async fn verify_refuses_another_key() {
    for b in backends().await {
        incident(&b.store, "merry-finch", &some_commands()).await;
        let other = palisade_core::chain::LedgerSigner::from_secret([9u8; 32]).verifying_key();
        let report = palisade_store::verify(
            &b.target(),
            other,
            &palisade_store::VerifyOptions {
                no_witness: true,
                all_signatures: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(!report.ok(), "{}", b.name);
        assert!(
            report.failures[0].what.contains("not the trusted key"),
            "{}: {:?}",
            b.name,
            report.failures[0]
        );
    }
}

#[tokio::test]
async fn concurrent_appends_to_many_incidents_all_land_and_verify() {
    for b in backends().await {
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = b.store.clone();
            tasks.push(tokio::spawn(async move {
                incident(&store, &format!("pale-tern-{i}"), &some_commands()).await
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let report = b.verify().await;
        assert!(report.ok(), "{}: {:?}", b.name, report.failures);
        assert_eq!((report.streams, report.events), (20, 120), "{}", b.name);
    }
}

#[tokio::test]
async fn a_data_directory_is_used_by_one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        data_dir: dir.path().to_path_buf(),
        database_url: None,
    };
    let first = Store::open(&config).await.unwrap();
    let err = Store::open(&config)
        .await
        .err()
        .expect("second open refused")
        .to_string();
    assert!(err.contains("another palisade process"), "{err}");
    drop(first);
    let again = Store::open(&config).await.unwrap();
    assert!(!again.key_created, "the key survives restarts");
}

fn outbox_message(n: u8) -> palisade_store::OutboxMessage {
    palisade_store::OutboxMessage {
        id: Uuid::now_v7(),
        kind: "break_glass".into(),
        destination: palisade_store::Destination::Default,
        payload: format!("{{\"n\":{n}}}"),
        created_at: t(0).to_string(),
        due_us: t(0).unix_micros(),
    }
}

#[tokio::test]
async fn outbox_messages_commit_with_their_events_and_are_claimed_once_per_lease() {
    for b in backends().await {
        let st = incident(&b.store, "quiet-heron", &[]).await;
        // A note whose append carries two outbox messages.
        let dana = Actor {
            user: user("dana"),
            account_role: AccountRole::Responder,
        };
        let mut s = st.clone();
        let payloads = s
            .decide(&dana, &Command::AddNote { text: "x".into() }, &ctx())
            .unwrap();
        let events = events_for(s.id, s.last_seq, &dana.user, t(5), None, payloads);
        for e in &events {
            s.apply(e).unwrap();
        }
        let (m1, m2) = (outbox_message(1), outbox_message(2));
        b.store
            .append(
                AppendRequest::for_incident(&s, st.last_seq, &events)
                    .unwrap()
                    .with_outbox(vec![m1.clone(), m2.clone()]),
            )
            .await
            .unwrap();
        // A refused (stale) append writes no outbox message either.
        let stale = b
            .store
            .append(
                AppendRequest::for_incident(&s, st.last_seq, &events)
                    .unwrap()
                    .with_outbox(vec![outbox_message(3)]),
            )
            .await;
        assert!(
            matches!(stale, Err(StoreError::Conflict { .. })),
            "{}",
            b.name
        );
        assert_eq!(b.store.outbox_pending().await.unwrap(), 2, "{}", b.name);

        let now = t(10).unix_micros();
        let lease = 60_000_000;
        let claimed = b.store.outbox_claim(now, lease, 10).await.unwrap();
        let mut ids: Vec<Uuid> = claimed.iter().map(|m| m.id).collect();
        ids.sort();
        let mut want = vec![m1.id, m2.id];
        want.sort();
        assert_eq!(ids, want, "{}", b.name);
        assert!(
            claimed
                .iter()
                .all(|m| m.attempts == 1 && m.stream == Some(s.id))
        );
        assert!(claimed.iter().any(|m| m.payload == "{\"n\":1}"));
        // Within the lease nobody else gets them.
        assert!(
            b.store
                .outbox_claim(now + 1, lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "{}",
            b.name
        );
        // One delivered; the other failed and is due again at the retry time, not before.
        b.store
            .outbox_done(m1.id, &t(11).to_string())
            .await
            .unwrap();
        b.store
            .outbox_retry(m2.id, "HTTP 500", now + 5_000_000)
            .await
            .unwrap();
        assert_eq!(b.store.outbox_pending().await.unwrap(), 1, "{}", b.name);
        assert!(
            b.store
                .outbox_claim(now + 4_000_000, lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "{}",
            b.name
        );
        let again = b
            .store
            .outbox_claim(now + 5_000_000, lease, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1, "{}", b.name);
        assert_eq!((again[0].id, again[0].attempts), (m2.id, 2), "{}", b.name);
        // After a lease expires without done/retry (the sender crashed), it is due again.
        let after_crash = b
            .store
            .outbox_claim(now + 5_000_000 + lease, lease, 10)
            .await
            .unwrap();
        assert_eq!(after_crash.len(), 1, "{}", b.name);
        assert_eq!(after_crash[0].attempts, 3, "{}", b.name);
    }
}

#[tokio::test]
async fn incident_keys_are_written_once() {
    for b in backends().await {
        let st = incident(&b.store, "amber-otter", &[]).await;
        assert_eq!(
            b.store.incident_key(st.id).await.unwrap(),
            None,
            "{}",
            b.name
        );
        let first = b.store.put_incident_key(st.id, "first", "t").await.unwrap();
        let second = b
            .store
            .put_incident_key(st.id, "second", "t")
            .await
            .unwrap();
        assert_eq!(
            (first.as_str(), second.as_str()),
            ("first", "first"),
            "{}",
            b.name
        );
        assert_eq!(
            b.store.incident_key(st.id).await.unwrap().as_deref(),
            Some("first")
        );
        let err = b
            .raw(&format!(
                "UPDATE incident_keys SET wrapped = 'x' WHERE incident_id = '{}'",
                st.id
            ))
            .await
            .expect_err("the trigger refuses updates");
        assert!(err.contains("written once"), "{}: {err}", b.name);
    }
}

#[tokio::test]
async fn stored_checkpoints_are_one_per_append_in_order() {
    for b in backends().await {
        let st = incident(&b.store, "brisk-marten", &some_commands()).await;
        let cps = b.store.stored_checkpoints(st.id).await.unwrap();
        assert_eq!(cps.len(), 1 + some_commands().len(), "{}", b.name);
        let seqs: Vec<u64> = cps.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6], "{}", b.name);
    }
}

#[tokio::test]
async fn reads_appended_at_the_head_concurrently_all_land_in_order_and_verify() {
    for b in backends().await {
        let st = incident(&b.store, "still-lake", &some_commands()).await;
        let stream = st.stream();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = b.store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .append_at_head(stream, read_at_head(stream, &format!("reader{i}"), 100 + i))
                    .await
                    .map(|a| a.rows[0].seq)
            }));
        }
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await.unwrap().unwrap());
        }
        seqs.sort();
        let first = st.last_seq + 1;
        assert_eq!(seqs, (first..first + 20).collect::<Vec<_>>(), "{}", b.name);
        let events = palisade_test_support::incident_events(&b.store, st.id).await;
        let folded = IncidentState::fold(&events).unwrap();
        assert_eq!(folded.reads, 20, "{}", b.name);
        assert_eq!(
            folded.timeline, st.timeline,
            "{}: reads stay out of the timeline",
            b.name
        );
        let summary = b.store.incident_summary(st.id).await.unwrap().unwrap();
        assert_eq!(summary.last_seq, st.last_seq + 20, "{}", b.name);
        assert_eq!(summary.title, st.title, "{}", b.name);
        let report = b.verify().await;
        assert!(report.ok(), "{}: {:?}", b.name, report.failures);
        // An unknown incident is an error, not a new ledger.
        let ghost = palisade_core::StreamId::incident(Uuid::new_v4());
        let err = b
            .store
            .append_at_head(ghost, read_at_head(ghost, "x", 1))
            .await
            .expect_err("unknown incident");
        assert!(matches!(err, StoreError::NotFound(_)), "{}: {err}", b.name);
    }
}

/// What decisions read besides the state: the time now and the default policy.
fn ctx() -> palisade_core::Context<'static, palisade_core::comms::CommsPolicy> {
    static POLICY: std::sync::OnceLock<palisade_core::comms::CommsPolicy> =
        std::sync::OnceLock::new();
    palisade_core::Context {
        now: palisade_core::Timestamp::from_datetime(time::OffsetDateTime::now_utc()),
        policy: POLICY.get_or_init(Default::default),
    }
}

/// The events of a recorded read of `stream` by `who` at `at`, numbered after whatever head the
/// store finds.
fn read_at_head(stream: palisade_core::StreamId, who: &str, at: i64) -> palisade_store::HeadEvents {
    let who = user(who);
    std::sync::Arc::new(move |head| {
        palisade_store::NewEvent::from_events(&palisade_core::event::numbered(
            stream,
            head,
            &who,
            t(at),
            None,
            vec![palisade_core::Payload::Accessed {
                what: "incident".into(),
                via: "api".into(),
            }],
        ))
    })
}

#[tokio::test]
async fn the_last_live_admin_token_is_never_revoked() {
    for b in backends().await {
        let root = user("root");
        b.store
            .create_user(&root, AccountRole::Admin)
            .await
            .unwrap();
        for (id, hash) in [("adm1", "a1"), ("adm2", "a2")] {
            b.store
                .insert_token(&NewToken {
                    id: id.into(),
                    user: root.clone(),
                    label: id.into(),
                    token_hash: hash.repeat(32),
                    created_at: "2026-11-26T00:00:00Z".into(),
                })
                .await
                .unwrap();
        }
        let at = "2026-11-26T01:00:00Z";
        assert_eq!(
            b.store.revoke_token("adm1", at).await.unwrap(),
            palisade_store::Revoked::Done,
            "{}",
            b.name
        );
        assert_eq!(
            b.store.revoke_token("adm2", at).await.unwrap(),
            palisade_store::Revoked::LastAdmin,
            "{}: revoking the only admin token left would lock everyone out",
            b.name
        );
        assert!(
            b.store
                .authenticate(&"a2".repeat(32))
                .await
                .unwrap()
                .is_some(),
            "{}: the refused revocation left the token working",
            b.name
        );
    }
}

/// A note on `st` (a new state and the append of it), at time `at`.
fn note(st: &IncidentState, text: &str, at: i64) -> (IncidentState, AppendRequest) {
    let dana = Actor {
        user: user("dana"),
        account_role: AccountRole::Responder,
    };
    let mut s = st.clone();
    let payloads = s
        .decide(&dana, &Command::AddNote { text: text.into() }, &ctx())
        .unwrap();
    let events = events_for(s.id, s.last_seq, &dana.user, t(at), None, payloads);
    for e in &events {
        s.apply(e).unwrap();
    }
    let req = AppendRequest::for_incident(&s, st.last_seq, &events).unwrap();
    (s, req)
}

#[tokio::test]
async fn an_append_refused_among_concurrent_ones_fails_alone() {
    for b in backends().await {
        let taken = incident(&b.store, "taken-heron", &[]).await;
        let mut states = Vec::new();
        for i in 0..10 {
            states.push(incident(&b.store, &format!("busy-wren-{i}"), &[]).await);
        }
        // An idempotency key already used by dana.
        let key = |n: u8| palisade_store::IdempotencyRecord {
            actor: "dana".into(),
            key: "key-1".into(),
            request_hash: format!("{n}"),
            response: "{}".into(),
            created_at: t(1).to_string(),
        };
        let (_, mut first) = note(&taken, "first use of the key", 2);
        first.idempotency = Some(key(1));
        b.store.append(first).await.unwrap();

        // Sent at once (so that the PostgreSQL writer groups them): ten good notes, a
        // declaration with a codename in use (busy-wren-0's), a note reusing the key, and a
        // stale note.
        let mut tasks = Vec::new();
        for (i, st) in states.iter().enumerate() {
            let (_, req) = note(st, &format!("note {i}"), 3);
            tasks.push(req);
        }
        let mut dup = states[0].clone();
        dup.id = Uuid::new_v4();
        let declared = palisade_test_support::incident_events(&b.store, states[0].id).await[0]
            .data
            .clone();
        let dup_events = events_for(dup.id, 0, &user("dana"), t(3), None, vec![declared]);
        let dup_state = IncidentState::fold(&dup_events).unwrap();
        tasks.push(AppendRequest::for_incident(&dup_state, 0, &dup_events).unwrap());
        let other = incident(&b.store, "other-wren", &[]).await;
        let (_, mut reuse) = note(&other, "second use of the key", 3);
        reuse.idempotency = Some(key(2));
        tasks.push(reuse);
        let (_, mut stale) = note(&states[1], "stale", 3);
        stale.expected_last_seq = 0; // states[1] is at 1: its stream exists
        stale.events[0].seq = 1;
        tasks.push(stale);
        let handles: Vec<_> = tasks
            .into_iter()
            .map(|req| {
                let store = b.store.clone();
                tokio::spawn(async move { store.append(req).await })
            })
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        for (i, r) in results[..10].iter().enumerate() {
            let seqs: Vec<u64> = match r {
                Ok(a) => a.rows.iter().map(|e| e.seq).collect(),
                Err(e) => panic!("{}: note {i}: {e}", b.name),
            };
            assert_eq!(seqs, vec![states[i].last_seq + 1], "{}: note {i}", b.name);
        }
        assert!(
            matches!(results[10], Err(StoreError::Taken(_))),
            "{}: {:?}",
            b.name,
            results[10].as_ref().err()
        );
        assert!(
            matches!(results[11], Err(StoreError::IdempotencyKeyUsed(_))),
            "{}: {:?}",
            b.name,
            results[11].as_ref().err()
        );
        assert!(
            matches!(results[12], Err(StoreError::Conflict { .. })),
            "{}: {:?}",
            b.name,
            results[12].as_ref().err()
        );
        // The good ones are written, the refused ones wrote nothing.
        for st in &states {
            assert_eq!(
                b.store.stored_events(st.id).await.unwrap().len(),
                2,
                "{}",
                b.name
            );
        }
        assert!(b.store.incident_summary(dup.id).await.unwrap().is_none());
        assert_eq!(b.store.stored_events(other.id).await.unwrap().len(), 1);
        assert_eq!(
            b.store
                .idempotency_record("dana", "key-1")
                .await
                .unwrap()
                .unwrap()
                .request_hash,
            "1"
        );
        assert_eq!(b.store.stored_events(taken.id).await.unwrap().len(), 2);
        let report = b.verify().await;
        assert!(report.ok(), "{}: {:?}", b.name, report.failures);
    }
}

/// An upgrade checks every reference before it commits: a database whose rows point at nothing
/// is refused with the count, and is left as it was (at its old version). A database already
/// at the current version opens without that full check.
#[tokio::test]
async fn an_upgrade_over_dangling_references_changes_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        data_dir: dir.path().to_path_buf(),
        database_url: None,
    };
    drop(Store::open(&config).await.unwrap());
    // Back to schema 7 (before the web sign-in tables, schema 9's index and schema 10's
    // attachments), with a token of a user who does not exist, written with foreign keys off.
    let db = dir.path().join("palisade.db");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TABLE web_sessions; DROP TABLE password_links; DROP TABLE passwords;
         DROP INDEX records_kind_parent; DROP TABLE attachments;
         INSERT INTO api_tokens (id, user_name, label, token_hash, created_at)
           VALUES ('tok_ghost', 'ghost', '', 'ff', '2026-01-01T00:00:00Z');
         PRAGMA user_version = 7;",
    )
    .unwrap();
    drop(c);
    let err = Store::open(&config)
        .await
        .err()
        .expect("the upgrade is refused")
        .to_string();
    assert!(
        err.contains("1 rows whose references do not resolve"),
        "{err}"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 7, "nothing was changed");
    let tables: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'passwords'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "the migration was rolled back");
    // Repaired, it upgrades.
    c.execute("DELETE FROM api_tokens WHERE id = 'tok_ghost'", [])
        .unwrap();
    drop(c);
    drop(Store::open(&config).await.unwrap());
    let c = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, palisade_store::SCHEMA_VERSION);
}
