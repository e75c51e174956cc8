//! `palisade maturity` as a team meets it, offline, on the official model files
//! (`../shared/data/maturity/`): answer SAMM and DSOMM from a template, see the scores, get a heat
//! map and a roadmap; NIST CSF gaps; a second assessment diffed and charted; mismatched model
//! versions and bad answers refused with exit 2. The real binary, in temp dirs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use palisade_test_support::shared_data;
use serde_json::Value;

mod common;

use common::Run as Out;

fn palisade(dir: &Path, args: &[&str]) -> Out {
    common::offline(dir, args)
}

fn ok(o: Out) -> Out {
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    o
}

fn json(o: &Out) -> Value {
    serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", o.stdout, o.stderr))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The template with the answers for `values`' keys filled in (`KEY: ~` → `KEY: VALUE`; DSOMM
/// keys are quoted uuids).
fn fill(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut used = 0;
    let out: Vec<String> = template
        .lines()
        .map(|l| {
            let key = l.trim().trim_end_matches(": ~").trim_matches('"');
            match values.get(key) {
                Some(v) if l.ends_with(": ~") && l.starts_with("      ") => {
                    used += 1;
                    format!("{}: {v}", &l[..l.len() - 3])
                }
                _ => l.to_string(),
            }
        })
        .collect();
    assert_eq!(
        used,
        values.len(),
        "every answer has its line in the template"
    );
    out.join("\n") + "\n"
}

/// The same answers as the SAMM toolbox example of `palisade-maturity`'s tests (overall 1.24).
const SAMM_ANSWERS: &str = "G-SM-A-1=0 G-SM-A-2=0 G-SM-A-3=0.25 G-SM-B-2=0.25 G-SM-B-3=0.5 \
G-PC-A-1=0.5 G-PC-A-2=0.5 G-PC-A-3=0.5 G-PC-B-1=0.25 G-PC-B-2=0.5 G-PC-B-3=1 \
G-EG-A-1=1 G-EG-A-2=1 G-EG-A-3=0.5 G-EG-B-1=0.5 G-EG-B-2=1 G-EG-B-3=0 \
D-TA-A-1=0 D-TA-A-2=0.25 D-TA-A-3=0 D-TA-B-1=1 D-TA-B-2=0 D-TA-B-3=1 \
D-SR-A-2=0.5 D-SR-A-3=0.25 D-SR-B-1=0.5 D-SR-B-2=0.5 D-SR-B-3=0.5 \
D-SA-A-1=1 D-SA-A-2=1 D-SA-A-3=0.5 D-SA-B-1=0 D-SA-B-2=1 D-SA-B-3=0.5 \
I-SB-A-1=0 I-SB-A-2=0 I-SB-A-3=0 I-SB-B-1=0.25 I-SB-B-2=1 I-SB-B-3=1 \
I-SD-A-2=0 I-SD-A-3=1 I-SD-B-1=1 I-SD-B-2=0.5 I-SD-B-3=0 \
I-DM-A-1=1 I-DM-A-2=0 I-DM-A-3=0.5 I-DM-B-1=0.5 I-DM-B-2=0 I-DM-B-3=1 \
V-AA-A-2=0.5 V-AA-A-3=0 V-AA-B-1=0.25 V-AA-B-2=0.5 V-AA-B-3=0.25 \
V-RT-A-1=0.5 V-RT-A-2=0 V-RT-A-3=0.25 V-RT-B-1=0 V-RT-B-2=0 V-RT-B-3=1 \
V-ST-A-1=0.25 V-ST-A-2=0.5 V-ST-A-3=1 V-ST-B-1=0 V-ST-B-2=0 V-ST-B-3=0.25 \
O-IM-A-1=1 O-IM-A-2=0.25 O-IM-A-3=0.5 O-IM-B-1=0.25 O-IM-B-2=0 O-IM-B-3=1 \
O-EM-A-1=0.5 O-EM-A-2=1 O-EM-B-1=0.5 O-EM-B-2=0.25 O-EM-B-3=0.25 \
O-OM-A-1=0.5 O-OM-A-2=0 O-OM-A-3=1 O-OM-B-1=0.25 O-OM-B-2=0 O-OM-B-3=0.25";

fn samm_values() -> BTreeMap<String, String> {
    SAMM_ANSWERS
        .split_whitespace()
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The text of answer `value` of question `key`, from the template's `# Answers:` comment.
fn answer_text(template: &str, key: &str, value: &str) -> String {
    let at = template.find(&format!("      {key}: ~")).unwrap();
    let line = template[..at]
        .lines()
        .rev()
        .find(|l| l.contains("# Answers: "))
        .unwrap();
    let list = line.split_once("# Answers: ").unwrap().1;
    list.split(" | ")
        .find_map(|a| a.strip_prefix(&format!("{value} = ")))
        .unwrap()
        .to_string()
}

/// A second assessment of the same team, later: the template's assessment re-dated, with
/// `values` filled in, appended under `assessments:`.
fn later_assessment(template: &str, date: &str, values: &BTreeMap<String, String>) -> String {
    let filled = fill(template, values);
    let start = filled.find("  - date: ").unwrap();
    let body = &filled[start..];
    let end = body.find('\n').unwrap();
    format!("  - date: {date}{}", &body[end..])
}

#[test]
fn a_team_answers_samm_from_the_template_and_gets_scores_a_heat_map_and_a_roadmap() {
    let Some(model) = shared_data("maturity/samm/model") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = s(&model);

    let o = ok(palisade(d, &["maturity", "models", m, "--format", "json"]));
    let info = json(&o);
    assert_eq!(info[0]["kind"], "samm");
    assert_eq!(info[0]["version_source"], "content-hash");

    ok(palisade(
        d,
        &[
            "maturity",
            "template",
            "--model",
            m,
            "-o",
            "samm.yaml",
            "--date",
            "2026-01-15",
            "--team",
            "payments",
        ],
    ));
    let template = std::fs::read_to_string(d.join("samm.yaml")).unwrap();
    assert_eq!(
        template.matches(": ~\n").count(),
        91,
        "90 questions and `by`"
    );
    // The template is never overwritten by accident.
    let again = palisade(
        d,
        &["maturity", "template", "--model", m, "-o", "samm.yaml"],
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);

    std::fs::write(d.join("samm.yaml"), fill(&template, &samm_values())).unwrap();
    let o = ok(palisade(
        d,
        &["maturity", "assess", "--model", m, "--answers", "samm.yaml"],
    ));
    assert!(
        o.stdout.contains("Overall score (0–3): 1.24"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("Answered: 85 of 90"), "{}", o.stdout);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("G-PC") && l.contains("1.63")),
        "{}",
        o.stdout
    );
    let j = json(&ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--format",
            "json",
        ],
    )));
    let overall = j["evaluation"]["scores"]["overall"].as_f64().unwrap();
    assert!((overall - 1.241_666).abs() < 1e-4, "{overall}");
    assert_eq!(j["assessment"]["team"], "payments");
    let md = ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--format",
            "markdown",
        ],
    ))
    .stdout;
    assert!(
        md.starts_with("# Maturity assessment") && md.contains("| G-SM |"),
        "{md}"
    );
    ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--format",
            "html",
            "-o",
            "report.html",
        ],
    ));
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("<script"),
        "the heat map, no scripts"
    );

    ok(palisade(
        d,
        &[
            "maturity",
            "heatmap",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "-o",
            "samm.svg",
        ],
    ));
    let svg = std::fs::read_to_string(d.join("samm.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    assert_eq!(
        svg.matches("<g><title>").count(),
        45,
        "15 practices × 3 levels"
    );
    assert!(svg.contains("Implemented:"), "a legend");

    let o = ok(palisade(
        d,
        &[
            "maturity",
            "roadmap",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--target-all",
            "2",
            "--target",
            "SM=1.5",
            "--phases",
            "3",
        ],
    ));
    assert!(
        o.stdout.contains("Phase 1 of 3") && o.stdout.contains("Phase 3 of 3"),
        "{}",
        o.stdout
    );
    let r = json(&ok(palisade(
        d,
        &[
            "maturity",
            "roadmap",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--target-all",
            "2",
            "--target",
            "SM=1.5",
            "--format",
            "json",
        ],
    )));
    let practices = r["practices"].as_array().unwrap();
    assert_eq!(practices.len(), 15);
    for p in practices {
        let (reached, target) = (
            p["reached"].as_f64().unwrap(),
            p["target"].as_f64().unwrap(),
        );
        assert!(
            reached >= target - 1e-9 || p["current"].as_f64().unwrap() >= target,
            "{p}"
        );
    }
    assert_eq!(practices[0]["key"], "G-SM");
    assert_eq!(practices[0]["target"], 1.5);
    let bad = palisade(
        d,
        &[
            "maturity",
            "roadmap",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--target",
            "XX=2",
        ],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("no practice `XX`"), "{}", bad.stderr);

    // Three months later: better answers, the same file. Diff and progress.
    let mut better = samm_values();
    better.insert("G-SM-A-1".into(), "1".into());
    better.insert("G-SM-B-1".into(), "0.5".into());
    // An answer by its text, as the template's comment lists it (from the user's model copy).
    better.insert(
        "I-SB-A-1".into(),
        format!("\"{}\"", answer_text(&template, "I-SB-A-1", "1")),
    );
    let mut file = std::fs::read_to_string(d.join("samm.yaml")).unwrap();
    file.push_str(&later_assessment(&template, "2026-04-15", &better));
    std::fs::write(d.join("samm.yaml"), file).unwrap();
    let o = ok(palisade(
        d,
        &["maturity", "diff", "--model", m, "--answers", "samm.yaml"],
    ));
    assert!(
        o.stdout
            .contains("2026-01-15 (payments) → 2026-04-15 (payments)"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("Changed answers (3)"), "{}", o.stdout);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("G-SM-B-1") && l.contains("(none)") && l.contains("0.5")),
        "{}",
        o.stdout
    );
    let dj = json(&ok(palisade(
        d,
        &[
            "maturity",
            "diff",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--format",
            "json",
        ],
    )));
    assert!(dj["overall"]["after"].as_f64().unwrap() > dj["overall"]["before"].as_f64().unwrap());
    // --at picks the first assessment.
    let o = ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "--at",
            "2026-02-01",
        ],
    ));
    assert!(
        o.stdout.contains("Overall score (0–3): 1.24"),
        "{}",
        o.stdout
    );
    ok(palisade(
        d,
        &[
            "maturity",
            "progress",
            "--model",
            m,
            "--answers",
            "samm.yaml",
            "-o",
            "progress.svg",
        ],
    ));
    let chart = std::fs::read_to_string(d.join("progress.svg")).unwrap();
    assert!(
        chart.contains("2026-01-15")
            && chart.contains("2026-04-15")
            && chart.contains("Governance")
    );
    assert_eq!(
        chart.matches("<path ").count(),
        6,
        "overall and five business functions"
    );
}

/// Activity names and uuids from a DSOMM template, with whether each depends on another.
fn dsomm_activities(template: &str) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let (mut name, mut depends) = (String::new(), false);
    for l in template.lines() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("# level ") {
            name = rest.split_once(": ").unwrap().1.to_string();
            depends = false;
        } else if t.starts_with("# depends on:") {
            depends = true;
        } else if t.starts_with('"') && t.ends_with(": ~") {
            out.push((
                t.trim_end_matches(": ~").trim_matches('"').to_string(),
                name.clone(),
                depends,
            ));
        }
    }
    out
}

#[test]
fn a_team_answers_dsomm_and_the_roadmap_never_skips_a_dependency() {
    let Some(model) = shared_data("maturity/dsomm/model.yaml") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = s(&model);
    let o = ok(palisade(d, &["maturity", "models", m]));
    assert!(
        o.stdout.contains("version: 4.3.1 (stated by the model)")
            && o.stdout.contains("activities: 194"),
        "{}",
        o.stdout
    );

    ok(palisade(
        d,
        &[
            "maturity",
            "template",
            "--model",
            m,
            "-o",
            "dsomm.yaml",
            "--date",
            "2026-02-01",
            "--team",
            "web",
        ],
    ));
    let template = std::fs::read_to_string(d.join("dsomm.yaml")).unwrap();
    let acts = dsomm_activities(&template);
    assert_eq!(acts.len(), 194);
    // Everything without a dependency is done, one thing is not applicable, one in progress.
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let free: Vec<&(String, String, bool)> = acts.iter().filter(|a| !a.2).collect();
    for a in &free[2..] {
        values.insert(
            a.0.clone(),
            "{ status: implemented, date: 2026-01-20, by: ana }".into(),
        );
    }
    values.insert(free[0].0.clone(), "not-applicable".into());
    values.insert(free[1].0.clone(), "in-progress".into());
    std::fs::write(d.join("dsomm.yaml"), fill(&template, &values)).unwrap();
    let implemented: BTreeSet<&str> = free[2..].iter().map(|a| a.1.as_str()).collect();

    let o = ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "dsomm.yaml",
        ],
    ));
    assert!(
        o.stdout
            .contains(&format!("Implemented: {}/193 (1 n/a)", free.len() - 2)),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("LEVEL REACHED"), "{}", o.stdout);
    // The team's progress: each status with since when and by whom.
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("implemented") && l.contains("2026-01-20") && l.contains("ana")),
        "{}",
        o.stdout
    );
    let j = json(&ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "dsomm.yaml",
            "--format",
            "json",
        ],
    )));
    assert_eq!(j["assessment"]["answers"][&free[2].0]["by"], "ana");

    for by in ["dimension", "sub-dimension"] {
        ok(palisade(
            d,
            &[
                "maturity",
                "heatmap",
                "--model",
                m,
                "--answers",
                "dsomm.yaml",
                "--by",
                by,
                "-o",
                "heat.svg",
            ],
        ));
        let svg = std::fs::read_to_string(d.join("heat.svg")).unwrap();
        let rows = if by == "dimension" { 5 } else { 19 };
        assert_eq!(svg.matches("<g><title>").count(), rows * 5, "{by}");
        assert!(svg.contains("Level 5") && svg.contains("nothing to count"));
    }

    let r = json(&ok(palisade(
        d,
        &[
            "maturity",
            "roadmap",
            "--model",
            m,
            "--answers",
            "dsomm.yaml",
            "--phases",
            "10",
            "--format",
            "json",
        ],
    )));
    let plan = r["plan"].as_array().unwrap();
    assert!(!plan.is_empty());
    let mut earlier: BTreeMap<String, u64> = BTreeMap::new();
    for p in plan {
        let wave = p["wave"].as_u64().unwrap();
        for dep in p["depends_on"].as_array().unwrap() {
            let dep = dep.as_str().unwrap();
            let ready = implemented.contains(dep) || earlier.get(dep).is_some_and(|w| *w < wave);
            assert!(
                ready,
                "{} (wave {wave}) proposed before its dependency {dep}",
                p["name"]
            );
            if wave == 1 {
                assert!(
                    implemented.contains(dep),
                    "wave 1 is ready now: {dep} must be implemented"
                );
            }
        }
        earlier.insert(p["name"].as_str().unwrap().to_string(), wave);
    }
    // The not-applicable activity is never proposed.
    assert!(plan.iter().all(|p| p["name"] != free[0].1.as_str()));
    let o = ok(palisade(
        d,
        &[
            "maturity",
            "roadmap",
            "--model",
            m,
            "--answers",
            "dsomm.yaml",
            "--phases",
            "1",
        ],
    ));
    assert!(
        o.stdout.contains("Wave 1: ready now") && !o.stdout.contains("Wave 2"),
        "{}",
        o.stdout
    );

    // Another team in another file: the team must be chosen.
    let other = template.replace("team: \"web\"", "team: \"mobile\"");
    std::fs::write(d.join("mobile.yaml"), other).unwrap();
    let o = palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "dsomm.yaml",
            "--answers",
            "mobile.yaml",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("several teams (mobile, web)"),
        "{}",
        o.stderr
    );
    let o = ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "dsomm.yaml",
            "--answers",
            "mobile.yaml",
            "--team",
            "mobile",
        ],
    ));
    assert!(o.stdout.contains("Implemented: 0/194"), "{}", o.stdout);
}

#[test]
fn csf_gaps_come_by_function_and_category_largest_first() {
    let Some(model) = shared_data("maturity/nist-csf-2.0/NIST_CSF_v2.0_catalog.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = s(&model);
    ok(palisade(
        d,
        &[
            "maturity",
            "template",
            "--model",
            m,
            "-o",
            "csf.yaml",
            "--date",
            "2026-03-01",
        ],
    ));
    let template = std::fs::read_to_string(d.join("csf.yaml")).unwrap();
    assert_eq!(
        template.matches("{ current: ~, target: ~ }").count(),
        107,
        "106 subcategories and the tier"
    );
    let filled = template
        .replace(
            "tier: { current: ~, target: ~ }",
            "tier: { current: 2, target: 3 }",
        )
        .replace(
            "GV.OC-01: { current: ~, target: ~ }",
            "GV.OC-01: { current: 1, target: 3 }",
        )
        .replace(
            "PR.AA-01: { current: ~, target: ~ }",
            "PR.AA-01: { current: 0, target: 4 }",
        )
        .replace(
            "DE.CM-01: { current: ~, target: ~ }",
            "DE.CM-01: { current: 3, target: 3 }",
        );
    std::fs::write(d.join("csf.yaml"), filled).unwrap();
    let o = ok(palisade(
        d,
        &["maturity", "gaps", "--model", m, "--answers", "csf.yaml"],
    ));
    assert!(
        o.stdout
            .contains("Tier (current → target): 2 Risk Informed → 3 Repeatable"),
        "{}",
        o.stdout
    );
    let pr = o.stdout.find("PR.AA-01").unwrap();
    let gv = o.stdout.find("GV.OC-01").unwrap();
    assert!(pr < gv, "the largest gap first:\n{}", o.stdout);
    let j = json(&ok(palisade(
        d,
        &[
            "maturity",
            "gaps",
            "--model",
            m,
            "--answers",
            "csf.yaml",
            "--format",
            "json",
        ],
    )));
    assert_eq!(j["gaps"].as_array().unwrap().len(), 2);
    assert_eq!(j["functions"].as_array().unwrap().len(), 6);
    assert_eq!(j["overall"]["assessed"], 3);
    let o = palisade(
        d,
        &["maturity", "heatmap", "--model", m, "--answers", "csf.yaml"],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("gaps"), "{}", o.stderr);
}

#[test]
fn another_model_version_is_refused_with_what_changed_unless_allowed() {
    let Some(model) = shared_data("maturity/samm/model") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = s(&model);
    let old = "format: 1\nmodel: { kind: samm, version: \"sha256:0000000000000000\" }\nassessments:\n  - date: 2025-06-01\n    answers:\n      G-SM-A-1: 1\n      G-SM-A-9: 1\n";
    std::fs::write(d.join("old.yaml"), old).unwrap();
    let o = palisade(
        d,
        &["maturity", "assess", "--model", m, "--answers", "old.yaml"],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("answers were made against samm sha256:0000000000000000"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("added in the model (89)")
            && o.stderr.contains("no longer in the model (1): G-SM-A-9"),
        "{}",
        o.stderr
    );
    let o = ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "old.yaml",
            "--allow-version-mismatch",
        ],
    ));
    assert!(o.stderr.contains("warning"), "{}", o.stderr);
    assert!(o.stdout.contains("Answered: 1 of 90"), "{}", o.stdout);
    // The wrong kind of model is refused outright.
    if let Some(dsomm) = shared_data("maturity/dsomm/model.yaml") {
        let o = palisade(
            d,
            &[
                "maturity",
                "assess",
                "--model",
                s(&dsomm),
                "--answers",
                "old.yaml",
                "--allow-version-mismatch",
            ],
        );
        assert_eq!(o.code, 2);
        assert!(
            o.stderr
                .contains("for a samm model, and the model given is dsomm"),
            "{}",
            o.stderr
        );
    }
}

#[test]
fn bad_files_exit_2_naming_file_and_line() {
    let Some(model) = shared_data("maturity/samm/model") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = s(&model);
    let info = json(&ok(palisade(
        d,
        &["maturity", "models", m, "--format", "json"],
    )));
    let version = info[0]["version"].as_str().unwrap();
    let bad = format!(
        "format: 1\nmodel: {{ kind: samm, version: \"{version}\" }}\nassessments:\n  - date: 2026-01-01\n    answers:\n      G-SM-A-1: 0.3\n"
    );
    std::fs::write(d.join("bad.yaml"), bad).unwrap();
    let o = palisade(
        d,
        &["maturity", "assess", "--model", m, "--answers", "bad.yaml"],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("bad.yaml:6:7: `G-SM-A-1`: not one of this question's answers"),
        "{}",
        o.stderr
    );
    std::fs::write(d.join("broken.yaml"), "format: 1\nmodel: [\n").unwrap();
    let o = palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "broken.yaml",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("broken.yaml:") && o.stderr.contains("not valid YAML"),
        "{}",
        o.stderr
    );
    let o = palisade(d, &["maturity", "models", "missing-model.yaml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("missing-model.yaml: cannot read"),
        "{}",
        o.stderr
    );
    let o = palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "bad.yaml",
            "--at",
            "2026-13-01",
        ],
    );
    assert_eq!(o.code, 2);
    let empty =
        format!("format: 1\nmodel: {{ kind: samm, version: \"{version}\" }}\nassessments: []\n");
    std::fs::write(d.join("empty.yaml"), empty).unwrap();
    let o = palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "empty.yaml",
            "--team",
            "x",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no assessment of team x"), "{}", o.stderr);
}

#[test]
fn a_bsimm_activity_file_of_the_users_own_is_assessed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let acts: PathBuf = d.join("bsimm.yaml");
    std::fs::write(
        &acts,
        "bsimm:\n  version: \"my-copy-1\"\n  activities:\n    - { id: SM1.1, domain: Governance, practice: Strategy & Metrics, level: 1, title: \"First <activity>\" }\n    - { id: SM2.2, domain: Governance, practice: Strategy & Metrics, level: 2, title: Second }\n    - { id: CR1.1, domain: SSDL Touchpoints, practice: Code Review, level: 1, title: Third }\n",
    )
    .unwrap();
    ok(palisade(
        d,
        &[
            "maturity",
            "template",
            "--model",
            "bsimm.yaml",
            "-o",
            "answers.yaml",
            "--date",
            "2026-05-01",
        ],
    ));
    let t = std::fs::read_to_string(d.join("answers.yaml")).unwrap();
    std::fs::write(
        d.join("answers.yaml"),
        t.replace("\"SM2.2\": ~", "\"SM2.2\": implemented"),
    )
    .unwrap();
    let o = ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            "bsimm.yaml",
            "--answers",
            "answers.yaml",
        ],
    ));
    assert!(
        o.stdout.contains("Activities observed: 1/3"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("Strategy & Metrics") && l.trim_end().ends_with('2')),
        "high-water mark 2:\n{}",
        o.stdout
    );
    ok(palisade(
        d,
        &[
            "maturity",
            "heatmap",
            "--model",
            "bsimm.yaml",
            "--answers",
            "answers.yaml",
            "-o",
            "b.svg",
        ],
    ));
    let o = ok(palisade(
        d,
        &[
            "maturity",
            "roadmap",
            "--model",
            "bsimm.yaml",
            "--answers",
            "answers.yaml",
        ],
    ));
    assert!(
        o.stdout.contains("SM1.1") && !o.stdout.contains("SM2.2"),
        "{}",
        o.stdout
    );
}

/// The team keeps its SAMM answers on the server: `push --create samm` starts the assessment
/// and records the file (who and when on the ledger), `pull` gives it back byte for byte, and
/// the scores from the pulled file are the toolbox's; pushing the same file again is refused
/// (exit 1, with the rule); `palisade verify` passes.
#[test]
fn answers_pushed_to_the_server_are_pulled_back_and_score_the_same() {
    let Some(model) = shared_data("maturity/samm/model") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = s(&model);
    ok(palisade(
        d,
        &[
            "maturity",
            "template",
            "--model",
            m,
            "-o",
            "samm.yaml",
            "--date",
            "2026-01-15",
        ],
    ));
    let template = std::fs::read_to_string(d.join("samm.yaml")).unwrap();
    std::fs::write(d.join("samm.yaml"), fill(&template, &samm_values())).unwrap();
    let answers = d.join("samm.yaml");

    let data = d.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = common::serve(&data);
    let push = [
        "maturity",
        "push",
        s(&answers),
        "--name",
        "payments-samm",
        "--create",
        "samm",
    ];
    let o = common::palisade(&server, &server.admin, &push);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("recorded push 1 of payments-samm"),
        "{}",
        o.stderr
    );
    let again = common::palisade(&server, &server.admin, &push);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("assessment-unchanged"),
        "{}",
        again.stderr
    );

    let pulled = d.join("pulled.yaml");
    let o = common::palisade(
        &server,
        &server.admin,
        &["maturity", "pull", "payments-samm", "-o", s(&pulled)],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&answers).unwrap()
    );
    let o = ok(palisade(
        d,
        &[
            "maturity",
            "assess",
            "--model",
            m,
            "--answers",
            "pulled.yaml",
        ],
    ));
    assert!(
        o.stdout.contains("Overall score (0–3): 1.24"),
        "{}",
        o.stdout
    );

    drop(server);
    let o = palisade(d, &["verify", "--data-dir", s(&data)]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
}
