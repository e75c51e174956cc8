//! Findings and the gate as a service's CI uses them, with the real binary: the secret scanner's
//! own SARIF, a dependency report, an image SBOM with vulnerabilities and a config checker's
//! SARIF uploaded; the gate fails on the critical findings, passes once they are accepted with
//! an expiry, and fails again after the expiry; offline, a policy file decides and names its
//! line; bad reports and bad policies exit 2 with what to do.

mod common;

use common::{BIN, ok, palisade, serve};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p.to_str().unwrap().to_string()
}

fn day(offset: i64) -> String {
    let d = time::OffsetDateTime::now_utc() + time::Duration::days(offset);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The reports a service's build produces.
fn reports(dir: &Path) -> Vec<String> {
    // A real secret scan of a file holding a token (built here, so this source holds none).
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let token = format!("ghp_{}", "R8xk2LqPz7VmN4wTc9HbJ5sYd3FgUe6Aa1Qo");
    std::fs::write(
        src.join("deploy.py"),
        format!("GITHUB_TOKEN = \"{token}\"\n"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["scan", "secrets", "--format", "sarif"])
        .arg(&src)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the scan finds the token");
    let secrets = dir.join("secrets.sarif");
    std::fs::write(&secrets, &out.stdout).unwrap();

    let deps = write(
        dir,
        "deps.json",
        &json!({"lockfiles": [{"path": "Cargo.lock", "kind": "cargo", "packages": 2}],
            "findings": [
                {"id": "RUSTSEC-2099-0001", "package": "hyper", "version": "0.14.1",
                 "purl": "pkg:cargo/hyper@0.14.1", "path": "Cargo.lock", "line": 9,
                 "summary": "request smuggling", "severity": "critical"},
                {"id": "RUSTSEC-2099-0002", "package": "time", "version": "0.1.0",
                 "purl": "pkg:cargo/time@0.1.0", "path": "Cargo.lock", "line": 20,
                 "summary": "segfault in localtime_r", "severity": "medium"}],
            "warnings": [], "errors": []}),
    );
    let image = write(
        dir,
        "image.cdx.json",
        &json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
            "components": [{"bom-ref": "ssl", "name": "openssl", "version": "3.0.1",
                            "purl": "pkg:deb/debian/openssl@3.0.1"}],
            "vulnerabilities": [{"id": "CVE-2099-1111", "description": "heap overflow",
                "ratings": [{"severity": "low"}], "affects": [{"ref": "ssl"}]}]}),
    );
    let config = write(
        dir,
        "config.sarif",
        &json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "hadolint"}},
            "results": [{"ruleId": "DL3007", "level": "warning",
                "message": {"text": "Using latest is prone to errors"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"},
                    "region": {"startLine": 1}}}]}]}]}),
    );
    vec![secrets.to_str().unwrap().to_string(), deps, image, config]
}

#[test]
fn the_gate_fails_on_critical_findings_passes_once_accepted_and_fails_after_the_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("data"));
    ok(
        &server,
        &server.admin,
        &["service", "create", "payments-api"],
    );
    let files = reports(dir.path());

    let mut args = vec!["upload", "--service", "payments-api", "--phase", "build"];
    args.extend(files.iter().map(String::as_str));
    let out = ok(&server, &server.admin, &args);
    assert!(
        out.contains("deps.json: build run 1 of palisade/deps (palisade-deps): 2 results — 2 new"),
        "{out}"
    );
    assert!(
        out.contains("secrets.sarif: build run 1 of palisade/secrets (sarif): 1 results — 1 new"),
        "{out}"
    );
    assert!(out.contains("image.cdx.json"), "{out}");
    // The image SBOM's findings are dependencies unless told; upload it again as the image.
    ok(
        &server,
        &server.admin,
        &[
            "upload",
            "--service",
            "payments-api",
            "--phase",
            "build",
            "--kind",
            "image",
            "--tool",
            "image-scan",
            &files[2],
        ],
    );

    let gate = |extra: &[&str]| {
        let mut a = vec!["gate", "--service", "payments-api", "--phase", "build"];
        a.extend(extra);
        palisade(&server, &server.admin, &a)
    };
    let failed = gate(&[]);
    assert_eq!(failed.code, 1, "{}\n{}", failed.stdout, failed.stderr);
    assert!(
        failed
            .stdout
            .contains("critical dependency finding RUSTSEC-2099-0001"),
        "{}",
        failed.stdout
    );
    assert!(
        failed
            .stdout
            .contains("built-in policy: fail_on = \"high\""),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains("FAIL build: 2 reasons"),
        "{}",
        failed.stdout
    );
    assert!(
        !failed.stdout.contains("DL3007"),
        "a medium config finding passes: {}",
        failed.stdout
    );

    // Accept what fails, for ten days.
    let list: Value = serde_json::from_str(&ok(
        &server,
        &server.admin,
        &[
            "findings",
            "list",
            "--service",
            "payments-api",
            "--status",
            "open",
            "--min-severity",
            "high",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let ids: Vec<&str> = list["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    let until = day(10);
    for id in &ids {
        ok(
            &server,
            &server.admin,
            &[
                "findings",
                "accept",
                id,
                "--reason",
                "rotated and patched in the next release",
                "--expires",
                &until,
            ],
        );
    }
    let passed = gate(&[]);
    assert_eq!(passed.code, 0, "{}\n{}", passed.stdout, passed.stderr);
    assert!(passed.stdout.contains("PASS build"), "{}", passed.stdout);
    assert!(
        passed.stdout.contains("2 accepted or false positives"),
        "{}",
        passed.stdout
    );

    // After the expiry the same findings fail again.
    let later = day(11);
    let expired = gate(&["--at", &later]);
    assert_eq!(expired.code, 1, "{}", expired.stdout);
    assert!(
        expired.stdout.contains("RUSTSEC-2099-0001"),
        "{}",
        expired.stdout
    );

    // The acceptance is on the finding's record: who, why, until when.
    let shown = ok(&server, &server.admin, &["findings", "show", ids[0]]);
    assert!(shown.contains("accepted by admin"), "{shown}");
    assert!(
        shown.contains("rotated and patched in the next release"),
        "{shown}"
    );

    // A refused triage exits 1 with its rule; a bad date exits 2 before asking.
    let r = palisade(
        &server,
        &server.admin,
        &[
            "findings",
            "accept",
            ids[0],
            "--reason",
            "short",
            "--expires",
            &until,
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("rule `finding-reason`"), "{}", r.stderr);
    let r = palisade(
        &server,
        &server.admin,
        &[
            "findings",
            "accept",
            ids[0],
            "--reason",
            "long enough reason",
            "--expires",
            "next week",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("write a date"), "{}", r.stderr);

    // One unreadable report among good ones: reported, the rest uploaded, exit 2.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"not a report").unwrap();
    let r = palisade(
        &server,
        &server.admin,
        &[
            "upload",
            "--service",
            "payments-api",
            "--phase",
            "code",
            junk.to_str().unwrap(),
            &files[1],
        ],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("junk.json") && r.stderr.contains("not JSON"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("deps.json: code run 1"), "{}", r.stdout);
}

#[test]
fn offline_the_policy_file_decides_and_names_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let files = reports(dir.path());
    let policy = dir.path().join("palisade-gate.toml");
    std::fs::write(
        &policy,
        "[defaults]\nfail_on = \"critical\"\n\n[phase.build]\nfail_on = { secret = \"low\", dependency = \"critical\" }\n",
    )
    .unwrap();
    let gate = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["gate", "--phase", "build", "--policy"])
            .arg(&policy)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = gate(&[files[0].as_str(), files[1].as_str()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 5: [phase.build] fail_on.secret = \"low\""),
        "{out}"
    );
    assert!(
        out.contains("line 5: [phase.build] fail_on.dependency = \"critical\""),
        "{out}"
    );
    assert!(out.contains("github"), "{out}");

    // A waiver in the file lets the dependency through until its date.
    let mut text = std::fs::read_to_string(&policy).unwrap();
    text.push_str(&format!(
        "\n[[waiver]]\nrule = \"RUSTSEC-2099-0001\"\nowner = \"dana\"\nreason = \"not reachable: no HTTP/1 server\"\nexpires = \"{}\"\n",
        day(5)
    ));
    std::fs::write(&policy, &text).unwrap();
    let (code, out, _) = gate(&[files[1].as_str(), "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["passed"].as_bool(), v["waived"].as_u64()),
        (Some(true), Some(1))
    );
    let (code, out, _) = gate(&[files[1].as_str(), "--at", &day(6)]);
    assert_eq!(code, 1, "{out}");

    // A bad policy and a bad report: exit 2, naming file and line, or the report.
    std::fs::write(&policy, "[phase.build]\nfail_on = \"severe\"\n").unwrap();
    let (code, _, err) = gate(&[files[1].as_str()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("palisade-gate.toml:2:") && err.contains("finding severity"),
        "{err}"
    );
    std::fs::write(&policy, "").unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"{\"what\": 1}").unwrap();
    let (code, _, err) = gate(&[junk.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("junk.json") && err.contains("not recognised"),
        "{err}"
    );
    let (code, _, err) = gate(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("give reports"), "{err}");
}
