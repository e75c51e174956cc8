//! A command that met a concurrent change was not refused: the CLI says "try again" and exits 2,
//! never 1 (the exit code of a rule's refusal), also in the evidence commands that stream their
//! content (`evidence add`, `evidence get`, `incident export`) and so read the server's answer
//! outside the generic client. A stub server gives the answers the real one gives (its
//! `Problem` from the application's error), deterministically: a real conflict needs two nodes
//! racing.

use axum::body::Bytes;
use axum::http::Uri;
use palisade_app::AppError;
use palisade_core::Refusal;
use palisade_core::incident::rules::INCIDENT_CLOSED;
use palisade_server::problem::Problem;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// Incidents named `closed-…` refuse by a rule; every other answer is a concurrent change. The
/// body is read whole first, as the server reads an upload before it answers.
async fn stub(uri: Uri, _body: Bytes) -> Problem {
    if uri.path().contains("/closed-") {
        AppError::Refused(Refusal::new(
            INCIDENT_CLOSED,
            "the incident is closed; evidence can no longer be added",
        ))
        .into()
    } else {
        // Without the server's own "try again", so the test sees what the CLI adds.
        AppError::Conflict("the incident kept changing while this command was decided".into())
            .into()
    }
}

struct Run {
    code: i32,
    stderr: String,
}

fn palisade(url: &str, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env("PALISADE_URL", url)
        .env("PALISADE_TOKEN", "pal_stub")
        .env("PALISADE_CONFIG", "/nonexistent/palisade-client.toml")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_change_is_try_again_exit_2_and_a_rule_refusal_exit_1_for_evidence() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().fallback(stub);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web-01.img");
    std::fs::write(&file, b"acquired content").unwrap();
    let file = file.to_str().unwrap().to_string();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap().to_string();
    let commands = move |incident: &str| -> Vec<Vec<String>> {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        vec![
            s(&[
                "evidence", "add", incident, &file, "--source", "web-01", "--tool", "dd",
            ]),
            s(&[
                "evidence",
                "get",
                &format!("{incident}/E1"),
                "--output",
                &out,
                "--purpose",
                "analysis",
            ]),
            s(&[
                "incident",
                "export",
                incident,
                "--output",
                &out,
                "--purpose",
                "for the auditors",
            ]),
        ]
    };
    let runs = tokio::task::spawn_blocking(move || {
        let mut runs = Vec::new();
        for incident in ["busy-otter", "closed-heron"] {
            for args in commands(incident) {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                runs.push((incident, args[..2].join(" "), palisade(&url, &a)));
            }
        }
        runs
    })
    .await
    .unwrap();
    assert_eq!(runs.len(), 6);
    for (incident, what, r) in runs {
        if incident == "busy-otter" {
            assert_eq!(
                r.code, 2,
                "{what}: a concurrent change is not a refusal: {}",
                r.stderr
            );
            assert!(
                r.stderr.contains("try again") && r.stderr.contains("HTTP 409"),
                "{what}: {}",
                r.stderr
            );
            assert!(!r.stderr.starts_with("refused:"), "{what}: {}", r.stderr);
        } else {
            assert_eq!(r.code, 1, "{what}: a rule's refusal: {}", r.stderr);
            assert!(
                r.stderr.contains("rule `incident-closed`"),
                "{what}: {}",
                r.stderr
            );
            assert!(!r.stderr.contains("try again"), "{what}: {}", r.stderr);
        }
    }
}
