//! Reports of every format read into findings; bad input refused with a message that says what
//! to do, without losing the readable results.

use palisade_core::types::{FindingKind, FindingSeverity};
use palisade_findings::{Format, ReadError, read};
use serde_json::json;

fn bytes(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

fn sarif(results: serde_json::Value, rules: serde_json::Value, tool: &str) -> Vec<u8> {
    bytes(json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": tool, "rules": rules}}, "results": results}]
    }))
}

#[test]
fn sarif_results_become_findings_with_severity_kind_and_location() {
    let report = read(
        &sarif(
            json!([
                {"ruleId": "GHSA-aaaa", "ruleIndex": 0, "level": "error",
                 "message": {"text": "lodash 4.17.20 is affected"},
                 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "package-lock.json"}, "region": {"startLine": 40}}}],
                 "partialFingerprints": {"palisadeDeps/v1": "pkg:npm/lodash@4.17.20|GHSA-aaaa|package-lock.json"}},
                {"ruleId": "aws-access-key", "ruleIndex": 1, "level": "error",
                 "message": {"text": "AWS key"},
                 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/app.py"}, "region": {"startLine": 3}}}],
                 "partialFingerprints": {"palisadeSecrets/v1": "abc"}},
                {"ruleId": "DL3007", "level": "warning", "message": {"text": "Using latest"},
                 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}, "region": {"startLine": 1}}}]},
                {"ruleId": "js/sql-injection", "level": "note", "message": {"text": "query built from input"}}
            ]),
            json!([
                {"id": "GHSA-aaaa", "shortDescription": {"text": "Prototype pollution"},
                 "properties": {"security-severity": "9.1", "tags": ["vulnerability", "npm"]}},
                {"id": "aws-access-key", "shortDescription": {"text": "AWS access key"},
                 "properties": {"severity": "critical", "tags": ["security", "secret"]}}
            ]),
            "palisade",
        ),
        None,
    )
    .unwrap();
    assert_eq!(report.format, Format::Sarif);
    // Palisade's SARIF without a category is told apart by its fingerprints.
    assert_eq!(report.tool, "palisade/deps");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let by_rule = |r: &str| report.findings.iter().find(|f| f.rule == r).unwrap();
    let dep = by_rule("GHSA-aaaa");
    assert_eq!(
        (dep.kind, dep.severity, dep.title.as_str()),
        (
            FindingKind::Dependency,
            FindingSeverity::Critical,
            "Prototype pollution"
        )
    );
    assert_eq!(dep.location.as_deref(), Some("package-lock.json:40"));
    let secret = by_rule("aws-access-key");
    assert_eq!(
        (secret.kind, secret.severity),
        (FindingKind::Secret, FindingSeverity::Critical)
    );
    let df = by_rule("DL3007");
    assert_eq!(
        (df.kind, df.severity),
        (FindingKind::Config, FindingSeverity::Medium)
    );
    let code = by_rule("js/sql-injection");
    assert_eq!(
        (code.kind, code.severity, code.location.as_deref()),
        (FindingKind::Code, FindingSeverity::Low, None)
    );
    // A kind given by the uploader wins.
    let forced = read(
        &sarif(
            json!([{"ruleId": "X1", "message": {"text": "m"}}]),
            json!([]),
            "t",
        ),
        Some(FindingKind::Image),
    )
    .unwrap();
    assert_eq!(forced.findings[0].kind, FindingKind::Image);
}

#[test]
fn a_fingerprint_survives_a_line_move_and_tells_different_problems_apart() {
    let at = |line: u64, snippet: &str| {
        read(
            &sarif(
                json!([{"ruleId": "R1", "message": {"text": "bad call"},
                  "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.c"},
                    "region": {"startLine": line, "snippet": {"text": snippet}}}}]}]),
                json!([]),
                "cppcheck",
            ),
            None,
        )
        .unwrap()
        .findings[0]
            .clone()
    };
    let before = at(10, "strcpy(buf, input);");
    let moved = at(42, "strcpy(buf, input);");
    let other = at(10, "strcpy(dst, name);");
    assert_eq!(
        before.fingerprint, moved.fingerprint,
        "a line move is the same finding"
    );
    assert_ne!(before.fingerprint, other.fingerprint);
    assert_eq!(moved.location.as_deref(), Some("a.c:42"));
}

#[test]
fn suppressed_passing_and_absent_results_are_not_findings_and_duplicates_count_once() {
    let report = read(
        &sarif(
            json!([
                {"ruleId": "R1", "message": {"text": "a"}, "suppressions": [{"kind": "inSource", "justification": "test key"}]},
                {"ruleId": "R2", "message": {"text": "b"}, "suppressions": [{"kind": "external", "status": "rejected"}]},
                {"ruleId": "R3", "kind": "pass", "message": {"text": "c"}},
                {"ruleId": "R4", "baselineState": "absent", "message": {"text": "d"}},
                {"ruleId": "R5", "level": "note", "message": {"text": "e"}},
                {"ruleId": "R5", "level": "error", "message": {"text": "e"}},
            ]),
            json!([]),
            "t",
        ),
        None,
    )
    .unwrap();
    let mut rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    rules.sort();
    assert_eq!(
        rules,
        ["R2", "R5"],
        "a suppression rejected in review does not hide a result"
    );
    let r5 = report.findings.iter().find(|f| f.rule == "R5").unwrap();
    assert_eq!(
        r5.severity,
        FindingSeverity::High,
        "the worst of duplicates is kept"
    );
}

#[test]
fn cyclonedx_vulnerabilities_are_findings_per_affected_component_and_an_sbom_is_known() {
    let bom = bytes(json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6",
        "metadata": {"tools": {"components": [{"name": "palisade"}]}},
        "components": [
            {"bom-ref": "c1", "name": "openssl", "version": "3.0.1", "purl": "pkg:deb/debian/openssl@3.0.1",
             "components": [{"bom-ref": "c2", "name": "libssl", "version": "3.0.1"}]}
        ],
        "vulnerabilities": [
            {"id": "CVE-2022-0778", "description": "Infinite loop in BN_mod_sqrt",
             "ratings": [{"severity": "medium"}, {"score": 7.5, "method": "CVSSv31"}],
             "affects": [{"ref": "c1"}, {"ref": "c2"}]},
            {"id": "CVE-2099-0001", "affects": []}
        ]
    }));
    let report = read(&bom, None).unwrap();
    assert_eq!(report.format, Format::CycloneDx);
    assert!(report.is_sbom);
    assert_eq!(report.tool, "palisade");
    let packages: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.package.as_deref().unwrap())
        .collect();
    assert_eq!(packages.len(), 2);
    assert!(packages.contains(&"pkg:deb/debian/openssl@3.0.1"));
    assert!(packages.contains(&"libssl@3.0.1"));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == FindingSeverity::High && f.kind == FindingKind::Dependency),
        "the worst rating wins"
    );
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert!(report.skipped[0].contains("CVE-2099-0001"));
    // An SBOM with no vulnerabilities: no findings, still an SBOM.
    let plain = read(
        &bytes(json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []})),
        None,
    )
    .unwrap();
    assert!(plain.is_sbom && plain.findings.is_empty());
}

#[test]
fn osv_scanner_groups_are_one_finding_each_with_the_group_severity() {
    let osv = bytes(json!({"results": [{
        "source": {"path": "/src/package-lock.json", "type": "lockfile"},
        "packages": [{
            "package": {"name": "lodash", "version": "4.17.20", "ecosystem": "npm"},
            "vulnerabilities": [
                {"id": "GHSA-35jh-r3h4-6jhm", "summary": "Command injection in lodash", "aliases": ["CVE-2021-23337"]},
                {"id": "CVE-2021-23337", "summary": "dup"},
                {"id": "GHSA-29mw-wpgm-hmr9", "summary": "ReDoS", "database_specific": {"severity": "MODERATE"}}
            ],
            "groups": [
                {"ids": ["GHSA-35jh-r3h4-6jhm", "CVE-2021-23337"], "max_severity": "7.2"},
                {"ids": ["GHSA-29mw-wpgm-hmr9"]}
            ]
        }]
    }]}));
    let report = read(&osv, None).unwrap();
    assert_eq!(report.format, Format::Osv);
    assert_eq!(report.findings.len(), 2);
    let inj = report
        .findings
        .iter()
        .find(|f| f.rule == "CVE-2021-23337")
        .expect("the group's first id (sorted) names it");
    assert_eq!(inj.severity, FindingSeverity::High);
    assert_eq!(inj.package.as_deref(), Some("npm/lodash@4.17.20"));
    assert_eq!(inj.location.as_deref(), Some("/src/package-lock.json"));
    let redos = report
        .findings
        .iter()
        .find(|f| f.rule == "GHSA-29mw-wpgm-hmr9")
        .unwrap();
    assert_eq!(
        (redos.severity, redos.title.as_str()),
        (FindingSeverity::Medium, "ReDoS")
    );
}

#[test]
fn palisade_json_reports_of_secrets_and_deps_are_read() {
    let secrets = bytes(json!({
        "findings": [{"rule_id": "github-pat", "description": "GitHub token", "severity": "high",
                      "path": "ci.yml", "line": 7, "fingerprint": "f00", "secret": "ghp_…"}],
        "issues": [], "stats": {"files_scanned": 1}
    }));
    let r = read(&secrets, None).unwrap();
    assert_eq!(r.format, Format::PalisadeSecrets);
    let f = &r.findings[0];
    assert_eq!(
        (f.kind, f.rule.as_str(), f.location.as_deref()),
        (FindingKind::Secret, "github-pat", Some("ci.yml:7"))
    );
    assert_ne!(
        f.fingerprint, "f00",
        "the scanner's fingerprint is hashed again"
    );

    let deps = bytes(json!({
        "lockfiles": [{"path": "Cargo.lock", "kind": "cargo", "packages": 3}],
        "findings": [{"id": "RUSTSEC-2023-0001", "package": "tokio", "version": "1.0.0",
                      "purl": "pkg:cargo/tokio@1.0.0", "path": "Cargo.lock", "line": 12,
                      "summary": "reject_remote_clients", "severity": "unknown"}],
        "warnings": [], "errors": []
    }));
    let r = read(&deps, None).unwrap();
    assert_eq!(r.format, Format::PalisadeDeps);
    let f = &r.findings[0];
    assert_eq!(
        (f.kind, f.severity, f.package.as_deref()),
        (
            FindingKind::Dependency,
            FindingSeverity::High,
            Some("pkg:cargo/tokio@1.0.0")
        ),
        "an unknown severity is treated as high"
    );
}

#[test]
fn bad_reports_are_refused_with_what_to_do_and_bad_results_are_skipped_not_fatal() {
    assert!(matches!(read(b"<xml/>", None), Err(ReadError::NotJson(_))));
    assert!(matches!(read(b"", None), Err(ReadError::NotJson(_))));
    assert_eq!(read(b"[1,2]", None), Err(ReadError::UnknownFormat));
    assert_eq!(read(b"{\"hello\": 1}", None), Err(ReadError::UnknownFormat));
    let msg = ReadError::UnknownFormat.to_string();
    assert!(msg.contains("SARIF") && msg.contains("CycloneDX"), "{msg}");
    assert!(matches!(
        read(br#"{"version": "1.0.0", "runs": []}"#, None),
        Err(ReadError::Malformed(m)) if m.contains("2.1.0")
    ));
    assert!(matches!(
        read(br#"{"runs": 5}"#, None),
        Err(ReadError::Malformed(_))
    ));
    // Hostile nesting: serde_json's depth limit answers, no stack overflow.
    let deep = format!(
        "{{\"runs\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(matches!(
        read(deep.as_bytes(), None),
        Err(ReadError::NotJson(_))
    ));
    // Over the size limit: refused before parsing.
    let big = vec![b' '; palisade_findings::MAX_REPORT_BYTES + 1];
    assert!(matches!(read(&big, None), Err(ReadError::TooLarge(_))));
    // A result without a rule is skipped and named; the others are read.
    let r = read(
        &sarif(
            json!([{"message": {"text": "no rule"}}, 7, {"ruleId": "ok", "message": {"text": "x"}},
                   {"ruleId": "bad\u{0007}id\u{0000}", "message": {"text": "y"}}]),
            json!([]),
            "t",
        ),
        None,
    )
    .unwrap();
    assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
    assert!(r.skipped[0].starts_with("runs[0].results[0]"));
    assert_eq!(r.findings.len(), 2);
    assert!(
        r.findings
            .iter()
            .all(|f| f.check() == Ok(()) && !f.rule.chars().any(char::is_control)),
        "control characters are removed from what is kept"
    );
}

#[test]
fn palisade_sarif_and_json_of_one_scan_are_the_same_scan_and_the_same_findings() {
    let sarif = bytes(json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "palisade", "rules": [{"id": "github-pat", "properties": {"tags": ["secret"], "severity": "high"}}]}},
        "automationDetails": {"id": "palisade/secrets/"},
        "results": [{"ruleId": "github-pat", "message": {"text": "token"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "ci.yml"}, "region": {"startLine": 7}}}],
            "partialFingerprints": {"palisadeSecret/v1": "f00"}}]}]}));
    let json_report = bytes(json!({
        "findings": [{"rule_id": "github-pat", "description": "GitHub token", "severity": "high",
                      "path": "ci.yml", "line": 7, "fingerprint": "f00"}],
        "issues": [], "stats": {}
    }));
    let a = read(&sarif, None).unwrap();
    let b = read(&json_report, None).unwrap();
    assert_eq!(
        (a.tool.as_str(), b.tool.as_str()),
        ("palisade/secrets", "palisade/secrets")
    );
    assert_eq!(a.findings[0].fingerprint, b.findings[0].fingerprint);
    // A clean run (no results) is still the same analysis, so it can fix what was found.
    let clean = bytes(json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "palisade"}}, "automationDetails": {"id": "palisade/secrets/"},
        "results": []}]}));
    assert_eq!(read(&clean, None).unwrap().tool, "palisade/secrets");
    // Another tool's category is kept beside its name.
    let codeql = bytes(json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "CodeQL"}}, "automationDetails": {"id": "/language:python/run-42"},
        "results": []}]}));
    assert_eq!(read(&codeql, None).unwrap().tool, "CodeQL language:python");
}

#[test]
fn palisade_config_json_is_config_findings_without_the_suppressed_ones() {
    let report = bytes(json!({"tool": "palisade/config", "findings": [
        {"rule_id": "PAL-DF-001", "severity": "high", "title": "Runs as root", "path": "Dockerfile",
         "line": 1, "column": 1, "message": "no USER", "object": "", "fingerprint": "aa", "suppressed": false},
        {"rule_id": "PAL-DF-002", "severity": "medium", "title": "latest", "path": "Dockerfile",
         "line": 1, "column": 1, "message": "m", "object": "", "fingerprint": "bb", "suppressed": true,
         "suppression": {"kind": "comment", "reason": "pinned by digest upstream", "line": 1}}
    ], "issues": [], "stats": {}}));
    let r = read(&report, None).unwrap();
    assert_eq!(
        (r.format, r.tool.as_str()),
        (Format::PalisadeConfig, "palisade/config")
    );
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(
        (f.kind, f.rule.as_str(), f.location.as_deref()),
        (FindingKind::Config, "PAL-DF-001", Some("Dockerfile:1"))
    );
    assert_eq!(
        f.fingerprint,
        palisade_findings::fingerprint(&["PAL-DF-001", "palisadeConfig/v1=aa"])
    );
}
