//! `palisade threat` as a new user meets it: the model from docs/threat-models.md validates,
//! raises threats in all six STRIDE categories with explanations, a diff shows what a change did
//! (also against a git revision), a decision survives the rename of an unrelated element, and
//! the SARIF is valid and feeds the design-phase gate. The real binary, in temp dirs.

use std::path::Path;
use std::process::Command;

use palisade_test_support::SarifSchema;
use serde_json::Value;

mod common;

use common::Run as Out;

fn palisade(dir: &Path, args: &[&str]) -> Out {
    common::offline(dir, args)
}

fn ok(o: &Out) -> &Out {
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    o
}

fn json(o: &Out) -> Value {
    serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", o.stdout, o.stderr))
}

/// The first model of docs/threat-models.md: the one a new user copies.
fn docs_model() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/threat-models.md"),
    )
    .unwrap_or_else(|e| panic!("docs/threat-models.md: {e}"));
    let after = doc
        .split("<!-- first-model -->")
        .nth(1)
        .expect("the marked model in the docs");
    let start = after.find("```yaml\n").expect("a yaml block") + 8;
    let end = after[start..].find("```").expect("its end") + start;
    after[start..end].to_string()
}

/// The `threats:` example of docs/threat-models.md.
fn docs_decisions() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/threat-models.md"),
    )
    .unwrap();
    let after = doc
        .split("<!-- decisions -->")
        .nth(1)
        .expect("the marked decisions in the docs");
    let start = after.find("```yaml\n").expect("a yaml block") + 8;
    let end = after[start..].find("```").expect("its end") + start;
    after[start..end].to_string()
}

#[test]
fn the_decisions_in_the_docs_apply_to_the_docs_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "threatmodel.yaml",
        &format!("{}\n{}", docs_model(), docs_decisions()),
    );
    let o = palisade(
        d,
        &["threat", "check", "--format", "json", "--at", "2027-01-15"],
    );
    let v = json(ok(&o));
    assert!(
        v["stale_statuses"].as_array().unwrap().is_empty(),
        "{:#}",
        v["stale_statuses"]
    );
    let status = |id: &str| {
        v["threats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))["status"]
            .clone()
    };
    assert_eq!(status("PAL-TM-S02@web"), "mitigated");
    assert_eq!(status("PAL-TM-D01@web"), "accepted");
    assert_eq!(status("PAL-TM-R13@payments"), "false-positive");
    // After the acceptance's last day it is open again, and says why.
    let later = json(ok(&palisade(
        d,
        &["threat", "check", "--format", "json", "--at", "2027-04-01"],
    )));
    let t = later["threats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "PAL-TM-D01@web")
        .unwrap()
        .clone();
    assert_eq!(t["status"], "open");
    assert_eq!(t["acceptance_expired"], "2027-03-31");
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
}

fn threats(o: &Out) -> Vec<Value> {
    json(o)["threats"].as_array().cloned().unwrap_or_default()
}

#[test]
fn the_model_from_the_docs_validates_and_raises_explained_threats_in_all_six_categories() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "threatmodel.yaml", &docs_model());
    let v = palisade(d, &["threat", "validate", "threatmodel.yaml"]);
    assert!(
        ok(&v).stdout.contains("valid — 4 element(s), 4 flow(s)"),
        "{}",
        v.stdout
    );

    let report = palisade(d, &["threat", "check", "--format", "json"]);
    let summary = json(ok(&report))["summary"].clone();
    for s in [
        "spoofing",
        "tampering",
        "repudiation",
        "information-disclosure",
        "denial-of-service",
        "elevation-of-privilege",
    ] {
        assert!(
            summary["by_stride"][s]["open"].as_u64().unwrap_or(0) >= 1,
            "no {s} threat: {summary:#}"
        );
    }
    let all = threats(&report);
    for t in &all {
        assert!(!t["matched"].as_array().unwrap().is_empty(), "{t:#}");
        assert!(!t["rationale"].as_str().unwrap().is_empty(), "{t:#}");
        let id = t["id"].as_str().unwrap();
        let (rule, target) = id.split_once('@').unwrap();
        assert_eq!(
            (rule, target),
            (
                t["rule"].as_str().unwrap(),
                t["target"]["id"].as_str().unwrap()
            )
        );
    }

    // Explain the first one: the rule, each attribute it read, why, and how to record a decision.
    let id = all[0]["id"].as_str().unwrap();
    let e = palisade(d, &["threat", "explain", "threatmodel.yaml", id]);
    let text = &ok(&e).stdout;
    for wanted in [
        "Condition:",
        "Matched:",
        "Why:",
        "Severity:",
        "threatmodel.yaml:",
        "status: mitigated",
    ] {
        assert!(text.contains(wanted), "{wanted} missing from:\n{text}");
    }
    // An unknown id is exit 2 with the closest one suggested.
    let typo = format!("{}x", id);
    let e = palisade(d, &["threat", "explain", "threatmodel.yaml", &typo]);
    assert_eq!(e.code, 2);
    assert!(
        e.stderr.contains(&format!("did you mean `{id}`")),
        "{}",
        e.stderr
    );

    // The diagram: every element drawn (by id and name), counted threats, and DOT for Graphviz.
    let svg = palisade(d, &["threat", "diagram", "-o", "dfd.svg"]);
    ok(&svg);
    let text = std::fs::read_to_string(d.join("dfd.svg")).unwrap();
    assert!(
        text.contains("<svg") && text.trim_end().ends_with("</svg>"),
        "{}",
        &text[..200.min(text.len())]
    );
    for (id, name) in [
        ("customer", "Customer"),
        ("web", "Web app"),
        ("db", "Orders DB"),
        ("payments", "Payment provider"),
    ] {
        assert!(
            text.contains(&format!("data-id=\"{id}\"")) && text.contains(name),
            "{id} not drawn"
        );
    }
    let dot = palisade(d, &["threat", "diagram", "-o", "dfd.dot"]);
    ok(&dot);
    let text = std::fs::read_to_string(d.join("dfd.dot")).unwrap();
    assert!(
        text.starts_with("digraph") && text.contains("cluster_"),
        "{text}"
    );

    // The table lists the open ones; --fail-on fails on them.
    let t = palisade(d, &["threat", "check"]);
    assert!(ok(&t).stdout.contains(id), "{}", t.stdout);
    assert!(t.stderr.contains("open (S "), "{}", t.stderr);
    let f = palisade(d, &["threat", "check", "--fail-on", "low"]);
    assert_eq!(f.code, 1, "{}", f.stderr);
}

#[test]
fn markdown_and_html_reports_name_every_open_threat() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "threatmodel.yaml", &docs_model());
    let all = threats(ok(&palisade(d, &["threat", "check", "--format", "json"])));
    let md = palisade(d, &["threat", "check", "--format", "markdown"]);
    let html_out = palisade(
        d,
        &["threat", "check", "--format", "html", "-o", "report.html"],
    );
    ok(&html_out);
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(
        html.starts_with("<!doctype html>") && html.contains("<svg"),
        "the report embeds the diagram"
    );
    for t in &all {
        let id = t["id"].as_str().unwrap();
        assert!(
            ok(&md).stdout.contains(id),
            "{id} not in the Markdown report"
        );
        assert!(html.contains(id), "{id} not in the HTML report");
    }
}

#[test]
fn a_decision_survives_renaming_an_unrelated_element_and_the_diff_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = docs_model();
    write(d, "before.yaml", &model);
    let first = threats(ok(&palisade(
        d,
        &["threat", "check", "before.yaml", "--format", "json"],
    )));
    let on_db = first
        .iter()
        .find(|t| t["target"]["id"] == "db")
        .expect("a threat on the database");
    let id = on_db["id"].as_str().unwrap().to_string();
    let decided = format!(
        "{model}\nthreats:\n  {id}: {{ status: mitigated, mitigation: \"encrypted volumes, keys in KMS\" }}\n"
    );
    write(d, "before.yaml", &decided);
    // The web app gets a new id and a new name, the flows follow it; the database is untouched.
    let renamed = decided
        .replace(
            "  web:\n    type: process\n    name: Web app",
            "  storefront:\n    type: process\n    name: Storefront",
        )
        .replace("to: web", "to: storefront")
        .replace("from: web", "from: storefront");
    assert_ne!(renamed, decided);
    write(d, "after.yaml", &renamed);
    let after = threats(ok(&palisade(
        d,
        &["threat", "check", "after.yaml", "--format", "json"],
    )));
    let t = after
        .iter()
        .find(|t| t["id"] == id.as_str())
        .expect("the same threat id");
    assert_eq!(t["status"], "mitigated");
    assert_eq!(t["mitigation"], "encrypted volumes, keys in KMS");

    let diff = palisade(
        d,
        &[
            "threat",
            "diff",
            "before.yaml",
            "after.yaml",
            "--format",
            "json",
        ],
    );
    let v = json(ok(&diff));
    let changed: Vec<&str> = v["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        !changed.contains(&id.as_str()),
        "{id} should not change: {changed:?}"
    );
    let added: Vec<&str> = v["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let removed: Vec<&str> = v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        !added.is_empty() && added.iter().all(|a| a.ends_with("@storefront")),
        "{added:?}"
    );
    assert!(removed.iter().all(|a| a.ends_with("@web")), "{removed:?}");
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn diff_against_a_git_revision_shows_what_a_pull_request_changed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("model")).unwrap();
    // The model is split: the part with the database is an include, read at the revision too.
    let model = docs_model();
    let (head, tail) = model.split_once("  db:\n").unwrap();
    let (db, rest) = tail.split_once("  payments:\n").unwrap();
    write(
        &d.join("model"),
        "threatmodel.yaml",
        &format!("include: [store.yaml]\n{head}  payments:\n{rest}"),
    );
    write(
        &d.join("model"),
        "store.yaml",
        &format!("elements:\n  db:\n{db}"),
    );
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "model"]);
    let base = palisade(
        d,
        &["threat", "diff", "--git", "HEAD", "model/threatmodel.yaml"],
    );
    assert!(
        ok(&base).stdout.contains("0 added, 0 removed, 0 changed"),
        "{}",
        base.stdout
    );

    // The pull request: a partner API reaches the web app over plain HTTP.
    let pr = std::fs::read_to_string(d.join("model/threatmodel.yaml")).unwrap()
        + "  partner-feed: { from: partner, to: web, protocol: http }\n";
    write(&d.join("model"), "threatmodel.yaml", &pr);
    let store = std::fs::read_to_string(d.join("model/store.yaml")).unwrap().replace(
        "elements:\n",
        "elements:\n  partner: { type: external-entity, name: Partner, boundary: internet, third_party: true }\n",
    );
    write(&d.join("model"), "store.yaml", &store);
    let text = palisade(
        d,
        &["threat", "diff", "--git", "HEAD", "model/threatmodel.yaml"],
    );
    let out = &ok(&text).stdout;
    assert!(
        out.lines()
            .any(|l| l.starts_with("+ ") && l.contains("@partner-feed")),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("- ")),
        "nothing removed: {out}"
    );
    let md = palisade(
        d,
        &[
            "threat",
            "diff",
            "--git",
            "HEAD",
            "model/threatmodel.yaml",
            "--format",
            "markdown",
        ],
    );
    assert!(ok(&md).stdout.contains("| added |"), "{}", md.stdout);
    let gate = palisade(
        d,
        &[
            "threat",
            "diff",
            "--git",
            "HEAD",
            "model/threatmodel.yaml",
            "--fail-on",
            "low",
        ],
    );
    assert_eq!(gate.code, 1, "{}", gate.stderr);
    assert!(
        gate.stderr.contains("that were not before"),
        "{}",
        gate.stderr
    );

    let bad = palisade(
        d,
        &[
            "threat",
            "diff",
            "--git",
            "no-such-rev",
            "model/threatmodel.yaml",
        ],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("not a revision"), "{}", bad.stderr);
}

#[test]
fn sarif_is_valid_points_at_the_model_and_feeds_the_design_gate() {
    let Some(schema) = SarifSchema::load() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = docs_model();
    write(d, "threatmodel.yaml", &model);
    let all = threats(ok(&palisade(d, &["threat", "check", "--format", "json"])));
    // Decide one threat: it becomes a suppressed result.
    let decided = all[0]["id"].as_str().unwrap().to_string();
    write(
        d,
        "threatmodel.yaml",
        &format!(
            "{model}\nthreats:\n  {decided}: {{ status: false-positive, reason: not reachable }}\n"
        ),
    );
    let o = palisade(
        d,
        &[
            "threat",
            "check",
            "--format",
            "sarif",
            "-o",
            "threats.sarif",
        ],
    );
    ok(&o);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("threats.sarif")).unwrap()).unwrap();
    if let Some(e) = schema.errors(&sarif) {
        panic!("invalid SARIF: {e}");
    }
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "palisade/threat/");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), all.len());
    let lines: Vec<&str> = model.lines().collect();
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "threatmodel.yaml");
        let line = loc["region"]["startLine"].as_u64().unwrap() as usize;
        let target = r["properties"]["target"]["id"].as_str().unwrap();
        assert!(
            lines[line - 1]
                .trim_start()
                .starts_with(&format!("{target}:")),
            "line {line} is not {target}'s: {}",
            lines[line - 1]
        );
    }
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["properties"]["threatId"], decided.as_str());

    // Read as findings: threats, the decided one left out.
    let report =
        palisade_findings::read(&std::fs::read(d.join("threats.sarif")).unwrap(), None).unwrap();
    assert_eq!(report.tool, "palisade/threat");
    let observed = &report.findings;
    assert_eq!(observed.len(), all.len() - 1);
    assert!(
        observed
            .iter()
            .all(|f| f.kind == palisade_core::types::FindingKind::Threat)
    );

    // The design-phase gate, offline, on the built-in policy: open high threats fail it.
    let g = palisade(d, &["gate", "--phase", "design", "threats.sarif"]);
    assert_eq!(g.code, 1, "{}\n{}", g.stdout, g.stderr);
    assert!(g.stdout.contains("threat"), "{}", g.stdout);
}

#[test]
fn broken_models_and_rules_are_exit_2_with_every_problem_located() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "m.yaml",
        "elements:\n  web: { type: proces }\n  db: { type: data-store, encryption_at_rest: maybe }\nflows:\n  f: { from: web, to: dbb }\n",
    );
    let v = palisade(d, &["threat", "validate", "m.yaml"]);
    assert_eq!(v.code, 2);
    assert!(v.stderr.contains("m.yaml:2:"), "{}", v.stderr);
    let c = palisade(d, &["threat", "check", "m.yaml"]);
    assert_eq!(c.code, 2);
    assert!(c.stderr.contains("does not load"), "{}", c.stderr);

    write(d, "ok.yaml", "elements:\n  web: { type: process }\n");
    write(
        d,
        "r.toml",
        "[[rule]]\nid = \"X1\"\ntitle = \"t\"\nstride = \"spoofing\"\ntarget = \"process\"\nwhen = 'element.intrnet_facing'\nlikelihood = \"low\"\nimpact = \"low\"\nrationale = \"r\"\n",
    );
    let r = palisade(d, &["threat", "check", "ok.yaml", "--rules", "r.toml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("r.toml:6:") && r.stderr.contains("internet_facing"),
        "{}",
        r.stderr
    );
    let missing = palisade(d, &["threat", "check", "nope.yaml"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("cannot read nope.yaml"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_model_exported_as_otm_imports_back_to_the_same_threats_and_the_schema_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "threatmodel.yaml", &docs_model());
    ok(&palisade(d, &["threat", "export", "-o", "model.otm.json"]));
    let otm: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("model.otm.json")).unwrap()).unwrap();
    assert!(
        otm["otmVersion"].is_string() && otm["components"].as_array().unwrap().len() == 4,
        "{otm:#}"
    );
    let imported = palisade(
        d,
        &[
            "threat",
            "import",
            "--from",
            "otm",
            "model.otm.json",
            "-o",
            "back.yaml",
        ],
    );
    assert!(
        ok(&imported)
            .stderr
            .contains("imported 4 element(s), 4 flow(s)"),
        "{}",
        imported.stderr
    );
    let ids = |file: &str| {
        let mut v: Vec<String> = threats(ok(&palisade(
            d,
            &["threat", "check", file, "--format", "json"],
        )))
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
        v.sort();
        v
    };
    assert_eq!(ids("threatmodel.yaml"), ids("back.yaml"));

    let bad = palisade(
        d,
        &[
            "threat",
            "import",
            "--from",
            "threagile",
            "threatmodel.yaml",
        ],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("threatmodel.yaml"), "{}", bad.stderr);

    let schema = palisade(d, &["threat", "schema"]);
    let published = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/threat-model.schema.json"),
    )
    .unwrap();
    let a: Value = serde_json::from_str(&ok(&schema).stdout).unwrap();
    let b: Value = serde_json::from_str(&published).unwrap();
    assert_eq!(a, b, "the printed schema is the published one");
}
