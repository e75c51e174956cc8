//! Alerts end to end, as a team would wire them: an integration added with the CLI, PagerDuty's
//! own Python client (`pagerduty` on PyPI, `EventsApiV2Client` with `base_url` pointed at
//! Palisade) sending trigger, acknowledge, resolve and change events unchanged, the alerts read
//! back with the CLI, and `palisade verify` checking the ledger that holds them.
//!
//! Needs python3 with the `pagerduty` package (`.ci/run` installs it): without it the test prints
//! a SKIP line, and under `CI=true` it fails.

mod common;

use common::{BIN, Server};
use palisade_test_support::TestCerts;
use std::path::Path;
use std::process::Command;

/// The Python client's script: trigger twice with one key, once without, acknowledge, resolve,
/// a trigger after the resolve, a change event. Prints each returned dedup_key on its own line.
const SCRIPT: &str = r#"
import ssl, sys
from pagerduty import EventsApiV2Client
# The client speaks https only; it is given the test CA to trust (httpx's `verify`).
tls = ssl.create_default_context(cafile=sys.argv[3])
client = EventsApiV2Client(sys.argv[2], base_url=sys.argv[1], verify=tls)
payload = {"summary": "Disk full on web-1", "source": "web-1", "severity": "critical",
           "custom_details": {"used": 0.97, "mount": "/var"}}
print(client.trigger("Disk full on web-1", "web-1", dedup_key="disk/web-1",
                     severity="critical", custom_details={"used": 0.97}))
print(client.send_event("trigger", dedup_key="disk/web-1", payload=payload))
print(client.trigger("CPU high", "web-2"))
print(client.acknowledge("disk/web-1"))
print(client.resolve("disk/web-1"))
print(client.send_event("trigger", dedup_key="disk/web-1", payload=payload))
client.send_change_event(payload={"summary": "Deployed v1.4.2", "source": "ci"},
                         links=[{"href": "https://ci.example/7", "text": "run 7"}])
try:
    EventsApiV2Client("0123456789abcdef0123456789abcdef", base_url=sys.argv[1],
                      verify=tls).trigger("x", "y")
    print("unknown key accepted")
except Exception as e:
    print("refused:", type(e).__name__)
"#;

fn python_with_pagerduty() -> Option<()> {
    let ok = Command::new("python3")
        .args(["-c", "import pagerduty"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(())
    } else {
        palisade_test_support::skip_or_fail(
            "the PagerDuty Python client test",
            "python3 with the `pagerduty` package is not installed (pip install pagerduty; .ci/run installs it)",
        )
    }
}

/// The CLI as a user runs it against the HTTPS server, trusting the test CA.
fn ok(server: &Server, ca: &Path, token: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("PALISADE_URL", &server.url)
        .env("PALISADE_TOKEN", token)
        .env("PALISADE_CONFIG", "/nonexistent/palisade-client.toml")
        .env("SSL_CERT_FILE", ca)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "palisade {args:?}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn pagerdutys_own_client_sends_alerts_and_changes_unchanged() {
    if python_with_pagerduty().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let certs = TestCerts::write(dir.path());
    let mut serve = Command::new(BIN);
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--tls-cert")
        .arg(&certs.cert)
        .arg("--tls-key")
        .arg(&certs.key)
        .env_remove("PALISADE_DATABASE_URL");
    let server = common::start(serve, true);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let ca = certs.ca.as_path();
    ok(
        &server,
        ca,
        &server.admin,
        &["service", "create", "payments-api"],
    );
    let added = ok(
        &server,
        ca,
        &server.admin,
        &[
            "service",
            "integration",
            "add",
            "payments-api",
            "prometheus",
            "--format",
            "json",
        ],
    );
    let added: serde_json::Value = serde_json::from_str(&added).unwrap();
    let key = added["routing_key"].as_str().unwrap().to_string();
    // The table form teaches where to point Alertmanager.
    let table = ok(
        &server,
        ca,
        &server.admin,
        &["service", "integration", "add", "payments-api", "grafana"],
    );
    assert!(
        table.contains("pagerduty_configs") && table.contains("/v2/enqueue"),
        "{table}"
    );

    let out = Command::new("python3")
        .args(["-c", SCRIPT, &server.url, &key])
        .arg(&certs.ca)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "disk/web-1");
    assert_eq!(lines[1], "disk/web-1");
    assert!(uuid::Uuid::parse_str(lines[2]).is_ok(), "{stdout}");
    assert_eq!(&lines[3..6], ["disk/web-1"; 3]);
    assert!(lines[6].starts_with("refused:"), "{stdout}");

    let list = ok(
        &server,
        ca,
        &server.admin,
        &[
            "alert",
            "list",
            "--service",
            "payments-api",
            "--format",
            "json",
        ],
    );
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let alerts = list["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 3, "{list}");
    let disk: Vec<_> = alerts
        .iter()
        .filter(|a| a["dedup_key"] == "disk/web-1")
        .collect();
    assert_eq!(
        disk[0]["status"], "triggered",
        "a trigger after resolve: a new alert"
    );
    assert_eq!(disk[1]["status"], "resolved");
    assert_eq!(disk[1]["occurrences"], 2);
    let resolved = disk[1]["id"].as_str().unwrap();
    let shown = ok(&server, ca, &server.admin, &["alert", "show", resolved]);
    assert!(
        shown.contains("Deduplicated (critical) via integration prometheus")
            && shown.contains("dedup_key \"disk/web-1\""),
        "{shown}"
    );
    let acked = ok(
        &server,
        ca,
        &server.admin,
        &["alert", "ack", disk[0]["id"].as_str().unwrap()],
    );
    assert!(acked.contains("acknowledged by admin"), "{acked}");
    let codename = ok(
        &server,
        ca,
        &server.admin,
        &["alert", "promote", disk[0]["id"].as_str().unwrap(), "-q"],
    );
    let shown = ok(
        &server,
        ca,
        &server.admin,
        &["incident", "show", codename.trim()],
    );
    assert!(shown.contains("Disk full on web-1"), "{shown}");
    let changes = ok(
        &server,
        ca,
        &server.admin,
        &["service", "changes", "payments-api"],
    );
    assert!(changes.contains("Deployed v1.4.2"), "{changes}");
    // The incident declared from the alert shows its service's changes around it.
    let around = ok(
        &server,
        ca,
        &server.admin,
        &["incident", "changes", codename.trim()],
    );
    assert!(
        around.contains("changes to payments-api from") && around.contains("Deployed v1.4.2"),
        "{around}"
    );
    let revoked = ok(
        &server,
        ca,
        &server.admin,
        &[
            "service",
            "integration",
            "revoke",
            "payments-api",
            "prometheus",
        ],
    );
    assert!(revoked.contains("revoked"), "{revoked}");
    drop(server);

    let out = Command::new(BIN).arg("verify").arg(&data).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("3 alerts") && text.contains("1 changes") && text.contains("1 services"),
        "{text}"
    );
}
