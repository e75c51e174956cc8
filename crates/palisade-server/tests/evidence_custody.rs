//! Evidence custody as the outside security test of issue 17 probed it, over HTTP on a server on
//! port 0 (SQLite, and PostgreSQL in a fresh schema when `PALISADE_TEST_DATABASE_URL` is set,
//! required under `CI=true`):
//!
//! - evidence names are portable file names, refused with a problem that says what a valid name
//!   is; names recorded before that rule still export into a bundle that verifies;
//! - an export is recorded only once its bundle is complete: one that cannot be completed says
//!   why, before a byte is sent, and leaves no `exported` record;
//! - the custody report says a download's content matched (✔) only when the download was sent
//!   whole and its content re-hashed to the recorded hash, as an outcome event records.

use palisade_app::AppConfig;
use palisade_core::incident::events_for;
use palisade_core::{Event, IncidentState, Payload, UserName};
use palisade_store::AppendRequest;
use palisade_test_support::{Resp, TestServer, assert_problem, incident_events};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A server per backend: SQLite always, PostgreSQL when configured. The data directories live as
/// long as the servers.
async fn servers() -> Vec<(&'static str, TestServer, tempfile::TempDir)> {
    let mut out = Vec::new();
    for (name, store, dir) in palisade_test_support::backends().await {
        let srv = TestServer::serve(AppConfig {
            store,
            ..Default::default()
        })
        .await;
        out.push((name, srv, dir));
    }
    out
}

/// A restricted security incident declared by the admin, who is its Incident Commander.
async fn incident(srv: &TestServer) -> (Uuid, String) {
    let v = srv
        .declare(
            &srv.admin,
            json!({"title": "Web server compromise", "severity": "SEV-2", "kind": "security",
                   "commander": "admin"}),
        )
        .await;
    (
        v["id"].as_str().unwrap().parse().unwrap(),
        v["codename"].as_str().unwrap().to_string(),
    )
}

/// Upload `content` as evidence called `name` (the raw query value, percent-encoded here).
async fn upload(srv: &TestServer, codename: &str, name: &str, content: &[u8]) -> Resp {
    let req = srv
        .http
        .post(format!("{}/api/v1/incidents/{codename}/evidence", srv.url))
        .query(&[("name", name), ("source", "web-01"), ("tool", "dd 9.4")])
        .bearer_auth(&srv.admin)
        .header("content-type", "application/octet-stream")
        .body(content.to_vec());
    srv.send(req).await
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

async fn ledger(srv: &TestServer, id: Uuid) -> Vec<Event> {
    incident_events(srv.app.store(), id).await
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.data.kind()).collect()
}

/// Append `payloads` to the incident's ledger as a release before this one could have: straight
/// to the store, past today's rules (the application's cache tops itself up from the store).
async fn append_as_recorded_before(srv: &TestServer, id: Uuid, payloads: Vec<Payload>) {
    let mut st = IncidentState::fold(&ledger(srv, id).await).unwrap();
    let before = st.last_seq;
    let events = events_for(
        id,
        before,
        &UserName::parse("admin").unwrap(),
        palisade_app::now(),
        None,
        payloads,
    );
    for e in &events {
        st.apply(e).unwrap();
    }
    srv.app
        .store()
        .append(AppendRequest::for_incident(&st, before, &events).unwrap())
        .await
        .unwrap();
}

/// GET the export bundle of `codename`, with evidence.
async fn export(srv: &TestServer, codename: &str) -> reqwest::Response {
    srv.http
        .get(format!("{}/api/v1/incidents/{codename}/export", srv.url))
        .query(&[("purpose", "outside counsel"), ("evidence", "true")])
        .bearer_auth(&srv.admin)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_portable_evidence_names_are_refused_saying_what_a_valid_name_is() {
    for (backend, srv, _dir) in servers().await {
        let (id, code) = incident(&srv).await;
        let before = ledger(&srv, id).await.len();
        let long = "x".repeat(256);
        let long_utf8 = "é".repeat(128); // 128 characters, 256 bytes
        for bad in [
            ".",
            "..",
            "",
            "   ",
            "../etc/passwd",
            "a/b",
            "a\\b",
            "nul\0byte",
            "tab\there",
            "bell\u{7}",
            "del\u{7f}",
            &long,
            &long_utf8,
            "CON",
            "con",
            "aux.txt",
            "LPT1.tar.gz",
            "COM9",
            "a:b",
            "2026-11-26T03:12:00Z.pcap",
            "what?",
            "star*",
            "quote\"d",
            "pipe|d",
            "<angle>",
            "trailing.",
            "trailing ",
            "gpj.exe\u{202e}", // right-to-left override: shows as "exe.jpg"
        ] {
            let r = upload(&srv, &code, bad, b"content").await;
            assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
            let detail = r.body["detail"].as_str().unwrap();
            assert!(
                detail.contains("not a valid evidence name")
                    && detail.contains("portable file name")
                    && detail.contains("1–255 bytes"),
                "{backend}: {bad:?}: the problem says what a valid name is: {detail}"
            );
            assert_eq!(r.body["rule"], "invalid-input", "{backend}: {bad:?}");
        }
        assert_eq!(
            ledger(&srv, id).await.len(),
            before,
            "{backend}: a refused name records nothing"
        );
        // Portable names, including the ones forensic work needs, are accepted as given.
        let max = "x".repeat(255);
        let max_utf8 = "é".repeat(127); // 254 bytes
        for good in [
            ".bash_history",
            "..hidden",
            "web-01 memory 2026-11-26.lime",
            "CONFIG.SYS",
            "console.log",
            "naïve résumé.pdf",
            &max,
            &max_utf8,
        ] {
            let r = upload(&srv, &code, good, good.as_bytes()).await;
            assert_eq!(
                r.status,
                StatusCode::CREATED,
                "{backend}: {good:?}: {}",
                r.text
            );
            assert_eq!(r.body["name"], good, "{backend}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_recorded_under_names_no_longer_accepted_still_exports_a_bundle_that_verifies() {
    for (backend, srv, _dir) in servers().await {
        let (id, code) = incident(&srv).await;
        let content = b"memory image of web-01".to_vec();
        let r = upload(&srv, &code, "web-01.lime", &content).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        // Names an earlier release accepted, on the same stored content.
        let old_names = ["..", ".", "CON", "a:b?"];
        let payloads = old_names
            .iter()
            .enumerate()
            .map(|(i, name)| Payload::EvidenceAcquired {
                evidence: i as u32 + 2,
                name: name.to_string(),
                sha256: sha(&content),
                size: content.len() as u64,
                source: "web-01".into(),
                tool: "dd".into(),
                original_sha256: None,
                note: None,
            })
            .collect();
        append_as_recorded_before(&srv, id, payloads).await;

        let resp = export(&srv, &code).await;
        assert_eq!(resp.status(), StatusCode::OK, "{backend}");
        let bytes = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{backend}: the bundle broke off: {e}"));
        let report = palisade_store::bundle::verify_bundle(&bytes[..], None).unwrap();
        assert!(report.ok(), "{backend}: {:?}", report.failures);
        assert_eq!(
            (report.evidence_listed, report.evidence_files_verified),
            (5, 5),
            "{backend}"
        );
        // Inside the bundle `.` and `..` are files of underscores; the manifest keeps the names
        // as recorded.
        let mut entries = Vec::new();
        let mut manifest = serde_json::Value::Null;
        for e in tar::Archive::new(&bytes[..]).entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            if path == "evidence/manifest.json" {
                manifest = serde_json::from_reader(&mut e).unwrap();
            }
            entries.push(path);
        }
        for want in [
            "evidence/E1/web-01.lime",
            "evidence/E2/__",
            "evidence/E3/_",
            "evidence/E4/CON",
            "evidence/E5/a:b?",
        ] {
            assert!(entries.iter().any(|p| p == want), "{backend}: {entries:?}");
        }
        let names: Vec<&str> = manifest["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["web-01.lime", "..", ".", "CON", "a:b?"],
            "{backend}"
        );
        // Recorded once, and only because it was made.
        let events = ledger(&srv, id).await;
        assert_eq!(
            kinds(&events).iter().filter(|k| **k == "exported").count(),
            1,
            "{backend}"
        );
        assert_eq!(kinds(&events).last(), Some(&"exported"), "{backend}");
    }
}

/// The stored (encrypted) blob of evidence with plaintext hash `sha256`.
fn blob(dir: &tempfile::TempDir, id: Uuid, sha256: &str) -> std::path::PathBuf {
    dir.path()
        .join("evidence")
        .join(id.to_string())
        .join(format!("{sha256}.age"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_cannot_be_completed_is_not_recorded_and_says_why() {
    for (backend, srv, dir) in servers().await {
        // E2's record says one byte less than its stored content holds (a ledger written by an
        // earlier release could): the content cannot go into the bundle as recorded.
        let (short, short_code) = incident(&srv).await;
        let content = b"memory image of web-01, 42 bytes long....".to_vec();
        let r = upload(&srv, &short_code, "web-01.lime", &content).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        append_as_recorded_before(
            &srv,
            short,
            vec![Payload::EvidenceAcquired {
                evidence: 2,
                name: "web-01-copy.lime".into(),
                sha256: sha(&content),
                size: content.len() as u64 - 1,
                source: "web-01".into(),
                tool: "dd".into(),
                original_sha256: None,
                note: None,
            }],
        )
        .await;
        // E2's stored content is gone.
        let (missing, missing_code) = incident(&srv).await;
        let r = upload(&srv, &missing_code, "a.img", b"first").await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let r = upload(&srv, &missing_code, "b.img", b"second").await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        std::fs::remove_file(blob(&dir, missing, &sha(b"second"))).unwrap();

        for (id, code, says) in [
            (short, &short_code, "41 bytes"),
            (missing, &missing_code, "missing"),
        ] {
            let before = ledger(&srv, id).await;
            let resp = export(&srv, code).await;
            let status = resp.status();
            let text = resp
                .text()
                .await
                .unwrap_or_else(|e| panic!("{backend}: the export broke off: {e}"));
            // An answer before the first byte of a bundle: a problem that names the evidence
            // and what is wrong with it.
            assert_eq!(status, StatusCode::CONFLICT, "{backend}: {text}");
            let problem: serde_json::Value = serde_json::from_str(&text).unwrap();
            let detail = problem["detail"].as_str().unwrap();
            assert!(
                detail.starts_with("E2: ") && detail.contains(says),
                "{backend}: {detail}"
            );
            // Nothing says it was exported; what failed is recorded.
            let after = ledger(&srv, id).await;
            let new = kinds(&after[before.len()..]);
            assert_eq!(new, ["evidence_integrity_failed"], "{backend}: {new:?}");
            assert!(
                matches!(&after.last().unwrap().data,
                    Payload::EvidenceIntegrityFailed { evidence: 2, during, .. } if during == "export"),
                "{backend}"
            );
            // Without the content the export is complete, and recorded once.
            let r = srv
                .send(
                    srv.http
                        .get(format!("{}/api/v1/incidents/{code}/export", srv.url))
                        .query(&[("purpose", "outside counsel")])
                        .bearer_auth(&srv.admin),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{backend}");
            let report = palisade_store::bundle::verify_bundle(r.text.as_bytes(), None).unwrap();
            assert!(report.ok(), "{backend}: {:?}", report.failures);
            let exported = kinds(&ledger(&srv, id).await)
                .into_iter()
                .filter(|k| *k == "exported")
                .count();
            assert_eq!(exported, 1, "{backend}");
        }
        // Content staged for a bundle never stays behind, in the clear or otherwise.
        let spool = dir.path().join("spool");
        let left: Vec<_> = std::fs::read_dir(&spool)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{backend}: {left:?}");
    }
}

/// Download E<n> of `codename` for `purpose`: the status and the body, or why it broke off.
async fn download(
    srv: &TestServer,
    codename: &str,
    n: u32,
    purpose: &str,
) -> (StatusCode, Result<Vec<u8>, String>) {
    let resp = srv
        .http
        .get(format!(
            "{}/api/v1/incidents/{codename}/evidence/E{n}/content",
            srv.url
        ))
        .query(&[("purpose", purpose)])
        .bearer_auth(&srv.admin)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| e.to_string());
    (status, body)
}

/// The custody report of E<n>, as `palisade evidence custody` prints it.
async fn custody_report(srv: &TestServer, codename: &str, n: u32) -> String {
    let v = srv
        .get(
            &format!("/api/v1/incidents/{codename}/evidence/E{n}"),
            &srv.admin,
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    let view: palisade_server::routes::evidence::EvidenceView =
        serde_json::from_value(v.body).unwrap();
    palisade_core::custody::custody_report_markdown(&view.codename, &view.incident, &view.item)
}

/// The report's row of the download made for `purpose`.
fn row<'a>(report: &'a str, purpose: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.contains("| accessed |") && l.contains(purpose))
        .unwrap_or_else(|| panic!("no download for {purpose:?} in\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custody_report_says_a_download_matched_only_when_it_was_sent_whole_and_matched() {
    for (backend, srv, dir) in servers().await {
        let (id, code) = incident(&srv).await;
        // Several age chunks (64 KiB each), so tampering is met midway.
        let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let r = upload(&srv, &code, "web-01.lime", &content).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let blob = blob(&dir, id, &sha(&content));
        let stored = std::fs::read(&blob).unwrap();

        let (status, body) = download(&srv, &code, 1, "first look").await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        assert_eq!(body.unwrap(), content, "{backend}");

        // The stored content altered midway, then cut off: the download breaks off.
        let mut altered = stored.clone();
        altered[stored.len() / 2] ^= 1;
        std::fs::write(&blob, &altered).unwrap();
        let (status, body) = download(&srv, &code, 1, "altered copy").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{backend}: the check is made as it streams"
        );
        assert!(
            body.is_err(),
            "{backend}: an altered copy never arrives whole"
        );
        std::fs::write(&blob, &stored[..stored.len() - 1000]).unwrap();
        let (_, body) = download(&srv, &code, 1, "cut-off copy").await;
        assert!(
            body.is_err(),
            "{backend}: a cut-off copy never arrives whole"
        );
        std::fs::write(&blob, &stored).unwrap();
        let (_, body) = download(&srv, &code, 1, "second look").await;
        assert_eq!(body.unwrap(), content, "{backend}");

        let report = custody_report(&srv, &code, 1).await;
        for good in ["first look", "second look"] {
            assert!(
                row(&report, good).contains("✔ matches"),
                "{backend}: {good}:\n{report}"
            );
        }
        for bad in ["altered copy", "cut-off copy"] {
            let r = row(&report, bad);
            assert!(
                !r.contains('✔') && r.contains("✘"),
                "{backend}: {bad}:\n{report}"
            );
        }
        assert!(
            report.contains("**FAILED** at least once"),
            "{backend}:\n{report}"
        );
        // Each download's outcome is an event of its own, naming the access it completes.
        let events = ledger(&srv, id).await;
        let accesses: Vec<u64> = events
            .iter()
            .filter(|e| matches!(e.data, Payload::EvidenceAccessed { .. }))
            .map(|e| e.seq)
            .collect();
        assert_eq!(accesses.len(), 4, "{backend}");
        let verified: Vec<u64> = events
            .iter()
            .filter_map(|e| match &e.data {
                Payload::EvidenceAccessVerified {
                    access,
                    sha256,
                    size,
                    ..
                } => {
                    assert_eq!((sha256.as_str(), *size), (sha(&content).as_str(), 300_000));
                    Some(*access)
                }
                _ => None,
            })
            .collect();
        assert_eq!(verified, [accesses[0], accesses[3]], "{backend}");
        let failed: Vec<Option<u64>> = events
            .iter()
            .filter_map(|e| match &e.data {
                Payload::EvidenceIntegrityFailed { access, during, .. } if during == "download" => {
                    Some(*access)
                }
                _ => None,
            })
            .collect();
        assert_eq!(failed, [Some(accesses[1]), Some(accesses[2])], "{backend}");
    }
}

/// A connection that takes `room` bytes and then closes: a client that went away.
struct GoesAway {
    room: usize,
}

impl std::io::Write for GoesAway {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let n = data.len().min(self.room);
        self.room -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_whose_client_went_away_is_recorded_as_incomplete_not_verified() {
    for (backend, srv, _dir) in servers().await {
        let (id, code) = incident(&srv).await;
        let content: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
        let r = upload(&srv, &code, "web-01.lime", &content).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let admin = palisade_core::Actor {
            user: UserName::parse("admin").unwrap(),
            account_role: palisade_core::AccountRole::Admin,
        };
        let dl = srv
            .app
            .open_evidence(&admin, &code, 1, "client gone".into())
            .await
            .unwrap();
        let access = dl.access;
        let (app, rt, who) = (
            srv.app.clone(),
            tokio::runtime::Handle::current(),
            admin.clone(),
        );
        let end = tokio::task::spawn_blocking(move || {
            app.deliver_download(&rt, &who, dl, &mut GoesAway { room: 300_000 })
        })
        .await
        .unwrap();
        assert_eq!(
            end,
            palisade_app::evidence::Delivery::Incomplete { sent: 300_000 },
            "{backend}"
        );
        let last = ledger(&srv, id).await.pop().unwrap();
        assert!(
            matches!(last.data,
                Payload::EvidenceAccessIncomplete { evidence: 1, access: a, sent: 300_000 } if a == access),
            "{backend}: {:?}",
            last.data
        );
        let report = custody_report(&srv, &code, 1).await;
        let r = row(&report, "client gone");
        assert!(
            !r.contains('✔') && r.contains("incomplete: 300000 bytes sent"),
            "{backend}:\n{report}"
        );
        assert!(
            report.contains("1 download was not verified to the end"),
            "{backend}:\n{report}"
        );
        // A download nobody finished and nothing recorded the end of is unverified, not ✔.
        let dl = srv
            .app
            .open_evidence(&admin, &code, 1, "never sent".into())
            .await
            .unwrap();
        drop(dl);
        let report = custody_report(&srv, &code, 1).await;
        assert!(
            row(&report, "never sent").contains("unverified: no outcome recorded"),
            "{backend}:\n{report}"
        );
        // An outcome is recorded once, and only for one's own download.
        let done = srv
            .app
            .execute::<IncidentState>(
                &admin,
                &code,
                palisade_core::incident::Command::Evidence(
                    palisade_core::custody::EvidenceCommand::AccessIncomplete {
                        evidence: 1,
                        access,
                        sent: 1,
                    },
                ),
                &palisade_app::Options::default(),
                None,
            )
            .await;
        assert!(
            matches!(&done, Err(palisade_app::AppError::Refused(r)) if r.rule.id == "invalid-transition"),
            "{backend}: {:?}",
            done.map(|_| ())
        );
    }
}
