//! NIST CSF 2.0 on the official OSCAL catalog (`../shared/data/maturity/nist-csf-2.0/`).

use std::path::Path;

use palisade_maturity::answers;
use palisade_maturity::csf;
use palisade_test_support::shared_data;

fn model() -> Option<csf::Model> {
    let p = shared_data("maturity/nist-csf-2.0/NIST_CSF_v2.0_catalog.json")?;
    Some(csf::load(&p).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn the_catalog_has_6_functions_22_categories_106_subcategories_active() {
    let Some(m) = model() else { return };
    assert_eq!(m.version, "1.2.0");
    assert_eq!(
        m.functions
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>(),
        ["GV", "ID", "PR", "DE", "RS", "RC"]
    );
    assert_eq!(
        m.functions
            .iter()
            .map(|f| f.categories.len())
            .sum::<usize>(),
        22
    );
    assert_eq!(m.subcategories().count(), 106);
    // Withdrawn CSF 1.1 items are not there.
    assert!(
        m.functions
            .iter()
            .flat_map(|f| f.categories.iter())
            .all(|c| c.id != "ID.BE")
    );
    assert!(!m.ids().contains("ID.BE-01"));
    assert!(m.ids().contains("GV.OC-01"));
    assert!(m.subcategories().all(|(_, _, s)| !s.statement.is_empty()));
}

#[test]
fn the_gap_report_orders_by_gap_and_averages_by_function_and_category() {
    let Some(m) = model() else { return };
    let yaml = "format: 1\nmodel: { kind: csf, version: 1.2.0 }\nassessments:\n  - date: 2026-04-01\n    tier: { current: 2, target: 3 }\n    answers:\n      GV.OC-01: { current: 1, target: 3 }\n      GV.OC-02: { current: 2, target: 2 }\n      PR.AA-01: { current: 0, target: 4 }\n      DE.CM-01: { current: 3, target: 4 }\n      RS.MA-01: { current: 2, target: ~ }\n";
    let f = answers::parse(Path::new("a.yaml"), yaml).unwrap();
    let a = &f.assessments[0];
    let p = m.profiles(a, false).unwrap();
    let r = m.gaps(&p, a.tier);
    assert_eq!(
        r.gaps
            .iter()
            .map(|g| (g.id.as_str(), g.gap))
            .collect::<Vec<_>>(),
        [("PR.AA-01", 4), ("GV.OC-01", 2), ("DE.CM-01", 1)]
    );
    let gv = &r.functions[0];
    assert_eq!(gv.id, "GV");
    assert_eq!((gv.figure.assessed, gv.figure.with_gap), (2, 1));
    assert_eq!(
        (gv.figure.current, gv.figure.target),
        (Some(1.5), Some(2.5))
    );
    assert_eq!(gv.categories[0].id, "GV.OC");
    assert_eq!(gv.categories[0].figure.gap(), Some(1.0));
    // RS.MA-01 has no target: not assessed.
    assert_eq!(r.overall.assessed, 4);
    assert_eq!(r.overall.subcategories, 106);
    assert_eq!(r.tier.unwrap().target, Some(3));
    assert_eq!(csf::tier_name(4), "Adaptive");
}

#[test]
fn levels_and_tiers_are_checked() {
    let Some(m) = model() else { return };
    for (answer, needle, line) in [
        ("GV.OC-01: { current: 5, target: 3 }", "above 4", 6),
        ("GV.OC-01: 3", "current: 0–4", 6),
        (
            "GV.OC-1: { current: 1, target: 2 }",
            "did you mean `GV.OC-01`",
            6,
        ),
        (
            "ID.BE-01: { current: 1, target: 2 }",
            "not a subcategory",
            6,
        ),
    ] {
        let yaml = format!(
            "format: 1\nmodel: {{ kind: csf, version: 1.2.0 }}\nassessments:\n  - date: 2026-04-01\n    answers:\n      {answer}\n"
        );
        let f = answers::parse(Path::new("a.yaml"), &yaml).unwrap();
        let e = m.profiles(&f.assessments[0], false).unwrap_err();
        assert!(e.message.contains(needle), "{answer}: {e}");
        assert_eq!(e.line, Some(line), "{e}");
    }
    let yaml = "format: 1\nmodel: { kind: csf, version: 1.2.0 }\nassessments:\n  - date: 2026-04-01\n    tier: { current: 0, target: 3 }\n";
    let f = answers::parse(Path::new("a.yaml"), yaml).unwrap();
    let e = m.profiles(&f.assessments[0], false).unwrap_err();
    assert!(
        e.message.contains("tiers are 1 (Partial) to 4 (Adaptive)"),
        "{e}"
    );
}

#[test]
fn the_template_lists_every_active_subcategory() {
    let Some(m) = model() else { return };
    let t = m.template("2026-04-01", None);
    let f = answers::parse(Path::new("t.yaml"), &t).unwrap_or_else(|e| panic!("{e}"));
    let a = &f.assessments[0];
    assert_eq!(a.answers.len(), 106);
    assert!(a.tier.is_some());
    assert!(
        m.profiles(a, false)
            .unwrap()
            .iter()
            .all(|(_, l)| l.current.is_none())
    );
}
