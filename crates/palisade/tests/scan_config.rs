//! Integration tests of `palisade scan config`: the real binary, in temp dirs. Exit codes, the
//! JSON shape, SARIF validated against the OASIS schema (suppressions included), stdin,
//! thresholds and bad input.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use palisade_test_support::SarifSchema;
use serde_json::Value;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn palisade(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .current_dir(dir)
        .arg("scan")
        .arg("config")
        .args(args)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn palisade: {e}"));
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        si.write_all(input)
            .unwrap_or_else(|e| panic!("write stdin: {e}"));
    }
    let o = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn json(o: &Out) -> Value {
    serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", o.stdout, o.stderr))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

const CLEAN_DOCKERFILE: &str = "FROM alpine:3.20@sha256:1e42bbe2508154c9126d48c2b8a75420c3544343bf86fd041fb7527e017a4b4a\nUSER 10001\n";

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    palisade.dev/ignore: \"PAL-K8S-016: the tag is immutable in our registry\"
spec:
  template:
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          image: registry.example.com/web:1.4.2
          securityContext:
            # palisade:ignore PAL-K8S-001 reason: needs raw sockets, reviewed in SEC-7
            privileged: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          resources: {limits: {cpu: 500m, memory: 256Mi}}
          livenessProbe: {httpGet: {path: /healthz, port: 8080}}
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
";

#[test]
fn a_clean_tree_exits_0_and_says_what_it_checked() {
    let dir = tempdir();
    write(dir.path(), "Dockerfile", CLEAN_DOCKERFILE);
    write(dir.path(), "README.md", "# not configuration\n");
    let o = palisade(dir.path(), &[], None);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(o.stdout, "");
    assert!(
        o.stderr.contains("0 finding(s)") && o.stderr.contains("1 Dockerfile(s)"),
        "{}",
        o.stderr
    );
}

#[test]
fn nothing_to_check_is_an_error_not_clean() {
    let dir = tempdir();
    write(dir.path(), "notes.txt", "hello\n");
    let o = palisade(dir.path(), &[], None);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("no Dockerfile, Kubernetes object or compose file found"),
        "{}",
        o.stderr
    );
}

#[test]
fn findings_exit_1_and_the_table_hides_suppressed_ones() {
    let dir = tempdir();
    write(dir.path(), "k8s/web.yaml", DEPLOYMENT);
    write(dir.path(), "Dockerfile", "FROM ubuntu:latest\nUSER 1000\n");
    let o = palisade(dir.path(), &[], None);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", o.stdout);
    assert!(
        lines[0].starts_with("MEDIUM   PAL-DF-003   Dockerfile:1:1  base image ubuntu:latest"),
        "{}",
        lines[0]
    );
    assert!(!o.stdout.contains('\x1b'), "NO_COLOR is honoured");
    assert!(
        o.stderr
            .contains("1 finding(s), 2 suppressed (--show-suppressed lists them)"),
        "{}",
        o.stderr
    );
    let o = palisade(dir.path(), &["--show-suppressed"], None);
    assert!(
        o.stdout.contains(
            "PAL-K8S-001  k8s/web.yaml:17:13  privileged: true: the container has every capability and the host's devices  [Deployment/web container web]  SUPPRESSED: needs raw sockets, reviewed in SEC-7"
        ),
        "{}",
        o.stdout
    );
    // Only suppressed findings left: clean.
    std::fs::remove_file(dir.path().join("Dockerfile")).unwrap_or_else(|e| panic!("{e}"));
    let o = palisade(dir.path(), &[], None);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
}

#[test]
fn json_lists_findings_with_positions_suppressions_and_stats() {
    let dir = tempdir();
    write(dir.path(), "k8s/web.yaml", DEPLOYMENT);
    let o = palisade(dir.path(), &["--format", "json"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = json(&o);
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 2, "{v:#}");
    let f = &findings[0];
    assert_eq!(f["rule_id"], "PAL-K8S-016");
    assert_eq!(f["severity"], "low");
    assert_eq!(f["path"], "k8s/web.yaml");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(14), Some(11))
    );
    assert_eq!(f["object"], "Deployment/web container web");
    assert_eq!(f["suppressed"], true);
    assert_eq!(f["suppression"]["kind"], "annotation");
    assert_eq!(
        f["suppression"]["reason"],
        "the tag is immutable in our registry"
    );
    assert_eq!(f["fingerprint"].as_str().map(str::len), Some(64));
    assert_eq!(findings[1]["suppression"]["kind"], "comment");
    assert_eq!(findings[1]["suppression"]["line"], 16);
    assert_eq!(v["tool"], "palisade/config");
    assert_eq!(v["stats"]["kubernetes_objects"], 1);
    assert_eq!(v["stats"]["files_checked"], 1);
    assert_eq!(v["issues"], Value::Array(vec![]));
}

#[test]
fn sarif_is_valid_and_carries_suppressions_rules_and_notifications() {
    let Some(schema) = SarifSchema::load() else {
        return;
    };
    let dir = tempdir();
    write(dir.path(), "k8s/web.yaml", DEPLOYMENT);
    write(
        dir.path(),
        "Dockerfile",
        "FROM ubuntu\n# palisade:ignore PAL-DF-001\n",
    );
    write(dir.path(), "broken/compose.yaml", "services: [oops\n");
    let o = palisade(dir.path(), &["--format", "sarif"], None);
    assert_eq!(o.code, 2, "a file that cannot be parsed: {}", o.stderr);
    let v = json(&o);
    if let Some(e) = schema.errors(&v) {
        panic!("SARIF does not validate: {e}\n{v:#}");
    }
    let suppressed = v["runs"][0]["results"]
        .as_array()
        .and_then(|r| r.iter().position(|r| r.get("suppressions").is_some()))
        .unwrap_or_else(|| panic!("no suppressed result: {v:#}"));
    let mut broken = v.clone();
    broken["runs"][0]["results"][suppressed]["suppressions"][0]["kind"] = Value::from("inline");
    assert!(schema.errors(&broken).is_some(), "the schema check is real");

    let run = &v["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "palisade/config/");
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(rules.len() >= 35);
    let rule = rules
        .iter()
        .find(|r| r["id"] == "PAL-K8S-001")
        .cloned()
        .unwrap_or_default();
    assert_eq!(rule["properties"]["security-severity"], "9.5");
    assert!(
        rule["help"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Fix: ")
    );
    let results = run["results"].as_array().cloned().unwrap_or_default();
    let privileged = results
        .iter()
        .find(|r| r["ruleId"] == "PAL-K8S-001")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        privileged["suppressions"],
        serde_json::json!([{"kind": "inSource", "justification": "needs raw sockets, reviewed in SEC-7"}])
    );
    let region = &privileged["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(17), Some(13))
    );
    assert_eq!(
        privileged["partialFingerprints"]["palisadeConfig/v1"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    // The suppression without a reason is a finding, and what it meant to hide is not hidden.
    for id in ["PAL-CFG-001", "PAL-DF-001", "PAL-DF-003"] {
        let r = results.iter().find(|r| r["ruleId"] == id);
        assert!(
            r.is_some_and(|r| r.get("suppressions").is_none()),
            "{id}: {results:#?}"
        );
    }
    let notes = &run["invocations"][0];
    assert_eq!(notes["executionSuccessful"], false);
    let text = notes["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap_or("");
    assert!(
        text.starts_with("broken/compose.yaml:2:1: not valid YAML"),
        "{text}"
    );
}

#[test]
fn fail_on_and_min_severity_set_the_threshold_and_the_report() {
    let dir = tempdir();
    // Low (tag, not digest) and medium (no liveness probe is low; latest is medium) findings.
    write(
        dir.path(),
        "Dockerfile",
        "FROM python:3.12-slim\nUSER 1000\n",
    );
    let o = palisade(dir.path(), &["--fail-on", "medium"], None);
    assert_eq!(
        o.code, 0,
        "a low finding under --fail-on medium: {}",
        o.stdout
    );
    assert!(
        o.stdout.contains("PAL-DF-004"),
        "still reported: {}",
        o.stdout
    );
    let o = palisade(dir.path(), &["--min-severity", "medium"], None);
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert_eq!(o.stdout, "", "below --min-severity: not reported");
    let o = palisade(dir.path(), &[], None);
    assert_eq!(o.code, 1);
}

#[test]
fn helm_output_on_stdin_keeps_each_template_name() {
    let dir = tempdir();
    let rendered = "---\n# Source: web/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort}\n";
    let o = palisade(
        dir.path(),
        &["-", "--format", "json"],
        Some(rendered.as_bytes()),
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(v["findings"][0]["rule_id"], "PAL-K8S-017");
    assert_eq!(v["findings"][0]["path"], "<stdin>");
    assert_eq!(v["findings"][0]["line"], 6);
    assert_eq!(v["findings"][0]["source"], "web/templates/service.yaml");
}

#[test]
fn bad_files_are_reported_with_their_paths_and_the_rest_is_checked() {
    let dir = tempdir();
    write(
        dir.path(),
        "good/compose.yaml",
        "services:\n  db:\n    image: postgres\n",
    );
    write(dir.path(), "bad/deploy.yaml", "kind: [unclosed\n");
    write(dir.path(), "bad/Dockerfile", "FROM x\nNOPE y\n");
    write(dir.path(), "bad/latin1.yml", b"kind: caf\xe9\n");
    let o = palisade(dir.path(), &["--format", "json"], None);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(v["findings"][0]["rule_id"], "PAL-DC-007", "{v:#}");
    let issues: Vec<String> = v["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| format!("{} {} {}", i["path"], i["line"], i["is_error"]))
        .collect();
    assert_eq!(
        issues,
        [
            "\"bad/Dockerfile\" 2 true",
            "\"bad/deploy.yaml\" 2 true",
            "\"bad/latin1.yml\" 1 true"
        ]
    );
    for p in [
        "bad/Dockerfile:2:1: not a valid Dockerfile: unknown instruction: NOPE",
        "bad/latin1.yml:1:1: not UTF-8",
    ] {
        assert!(o.stderr.contains(p), "{p}: {}", o.stderr);
    }
}

#[test]
fn skipped_files_exit_2_unless_skips_are_accepted() {
    let dir = tempdir();
    write(dir.path(), "Dockerfile", CLEAN_DOCKERFILE);
    write(dir.path(), "big.yaml", "a: b\n".repeat(400));
    let o = palisade(dir.path(), &["--max-file-size", "1K"], None);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("warning: big.yaml: skipped: 2000 bytes is over the size cap of 1024 bytes"),
        "{}",
        o.stderr
    );
    let o = palisade(dir.path(), &["--max-file-size", "1K", "--skip-ok"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
}
