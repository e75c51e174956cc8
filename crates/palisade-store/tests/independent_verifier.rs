//! docs/ledger-format.md is precise enough for an independent implementation: the Python
//! verifier in docs/verify_ledger.py, written from it alone, accepts what Palisade writes and
//! rejects a tampered ledger.

use palisade_core::incident::{Declaration, declare, events_for};
use palisade_core::{IncidentState, Kind, Payload, Playbook, Severity, Timestamp, UserName};
use palisade_store::{AppendRequest, Store, StoreConfig};
use std::process::Command;
use uuid::Uuid;

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 is missing"
        );
        eprintln!("SKIP independent verifier: python3 is not installed");
        return None;
    }
    Some("python3")
}

#[tokio::test]
async fn the_python_verifier_agrees_with_palisade() {
    let Some(py) = python() else { return };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/verify_ledger.py");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig {
        data_dir: dir.path().to_path_buf(),
        database_url: None,
    })
    .await
    .unwrap()
    .store;
    let dana = UserName::parse("dana").unwrap();
    for n in 0..3 {
        let id = Uuid::new_v4();
        let declared = declare(
            Declaration {
                title: format!("Ünïcode \"quotes\"\tand\ncontrol \u{1} chars — {n}"),
                kind: Kind::Security,
                severity: Severity::SEV1,
                restricted: None,
                summary: Some("€ 2^53−1 = 9007199254740991".into()),
                playbook: Playbook::builtin_security(),
            },
            format!("calm-otter-{n}"),
        )
        .unwrap();
        let t = Timestamp::parse("2026-11-26T03:04:05.123456+02:00").unwrap();
        let mut events = events_for(id, 0, &dana, t, None, vec![declared]);
        let mut st = IncidentState::fold(&events).unwrap();
        store
            .append(AppendRequest::for_incident(&st, 0, &events).unwrap())
            .await
            .unwrap();
        events = events_for(
            id,
            1,
            &dana,
            t,
            None,
            vec![
                Payload::NoteAdded {
                    text: "back\\slash 🦀".into(),
                },
                Payload::StepStarted { step: 3 },
            ],
        );
        for e in &events {
            st.apply(e).unwrap();
        }
        store
            .append(AppendRequest::for_incident(&st, 1, &events).unwrap())
            .await
            .unwrap();
    }
    let out = Command::new(py)
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("OK 3 streams, 9 events"), "{text}");

    let db = rusqlite::Connection::open(dir.path().join("palisade.db")).unwrap();
    db.execute_batch("DROP TRIGGER ledger_events_no_update; UPDATE ledger_events SET body = replace(body, 'back', 'front') WHERE seq = 2;").unwrap();
    drop(db);
    let out = Command::new(py)
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("event 2: hash does not match"));
}
