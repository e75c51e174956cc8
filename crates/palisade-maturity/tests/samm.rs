//! OWASP SAMM on the official core model (`../shared/data/maturity/samm/model`): structure, the
//! toolbox's scores reproduced, templates, answers, roadmaps, version mismatches.

use std::collections::BTreeMap;
use std::path::Path;

use palisade_maturity::answers::{self, Kind};
use palisade_maturity::{Evaluation, Model, samm};
use palisade_test_support::shared_data;

fn model() -> Option<samm::Model> {
    let dir = shared_data("maturity/samm/model")?;
    Some(samm::load(&dir).unwrap_or_else(|e| panic!("{e}")))
}

/// The answers entered into the official SAMM toolbox for [`the_toolbox_scores_are_reproduced`]
/// (`~`: left blank in the toolbox, which counts it 0).
const TOOLBOX_ANSWERS: &str = "G-SM-A-1=0 G-SM-A-2=0 G-SM-A-3=0.25 G-SM-B-1=~ G-SM-B-2=0.25 G-SM-B-3=0.5 \
G-PC-A-1=0.5 G-PC-A-2=0.5 G-PC-A-3=0.5 G-PC-B-1=0.25 G-PC-B-2=0.5 G-PC-B-3=1 \
G-EG-A-1=1 G-EG-A-2=1 G-EG-A-3=0.5 G-EG-B-1=0.5 G-EG-B-2=1 G-EG-B-3=0 \
D-TA-A-1=0 D-TA-A-2=0.25 D-TA-A-3=0 D-TA-B-1=1 D-TA-B-2=0 D-TA-B-3=1 \
D-SR-A-1=~ D-SR-A-2=0.5 D-SR-A-3=0.25 D-SR-B-1=0.5 D-SR-B-2=0.5 D-SR-B-3=0.5 \
D-SA-A-1=1 D-SA-A-2=1 D-SA-A-3=0.5 D-SA-B-1=0 D-SA-B-2=1 D-SA-B-3=0.5 \
I-SB-A-1=0 I-SB-A-2=0 I-SB-A-3=0 I-SB-B-1=0.25 I-SB-B-2=1 I-SB-B-3=1 \
I-SD-A-1=~ I-SD-A-2=0 I-SD-A-3=1 I-SD-B-1=1 I-SD-B-2=0.5 I-SD-B-3=0 \
I-DM-A-1=1 I-DM-A-2=0 I-DM-A-3=0.5 I-DM-B-1=0.5 I-DM-B-2=0 I-DM-B-3=1 \
V-AA-A-1=~ V-AA-A-2=0.5 V-AA-A-3=0 V-AA-B-1=0.25 V-AA-B-2=0.5 V-AA-B-3=0.25 \
V-RT-A-1=0.5 V-RT-A-2=0 V-RT-A-3=0.25 V-RT-B-1=0 V-RT-B-2=0 V-RT-B-3=1 \
V-ST-A-1=0.25 V-ST-A-2=0.5 V-ST-A-3=1 V-ST-B-1=0 V-ST-B-2=0 V-ST-B-3=0.25 \
O-IM-A-1=1 O-IM-A-2=0.25 O-IM-A-3=0.5 O-IM-B-1=0.25 O-IM-B-2=0 O-IM-B-3=1 \
O-EM-A-1=0.5 O-EM-A-2=1 O-EM-A-3=~ O-EM-B-1=0.5 O-EM-B-2=0.25 O-EM-B-3=0.25 \
O-OM-A-1=0.5 O-OM-A-2=0 O-OM-A-3=1 O-OM-B-1=0.25 O-OM-B-2=0 O-OM-B-3=0.25";

fn answers_yaml(version: &str, pairs: &str) -> String {
    let mut s = format!(
        "format: 1\nmodel: {{ kind: samm, version: \"{version}\" }}\nassessments:\n  - date: 2026-03-01\n    answers:\n"
    );
    for p in pairs.split_whitespace() {
        let (k, v) = p.split_once('=').unwrap();
        s.push_str(&format!("      {k}: {v}\n"));
    }
    s
}

fn evaluate(m: &samm::Model, yaml: &str) -> samm::Scores {
    let f = answers::parse(Path::new("answers.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"));
    let values = m
        .values(&f.assessments[0], false)
        .unwrap_or_else(|e| panic!("{e}"));
    m.score(&values)
}

fn round2(x: f64) -> String {
    format!("{x:.2}")
}

#[test]
fn the_core_model_has_its_five_functions_fifteen_practices_and_ninety_questions() {
    let Some(m) = model() else { return };
    assert_eq!(
        m.functions
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        [
            "Governance",
            "Design",
            "Implementation",
            "Verification",
            "Operations"
        ]
    );
    assert_eq!(m.practices().count(), 15);
    assert_eq!(m.questions().count(), 90);
    for (_, p) in m.practices() {
        assert_eq!(p.streams.len(), 2, "{}", p.name);
        for s in &p.streams {
            assert_eq!(
                s.levels.iter().map(|l| l.number).collect::<Vec<_>>(),
                [1, 2, 3]
            );
            for l in &s.levels {
                for q in &l.questions {
                    let values: Vec<f64> = q.choices.iter().map(|c| c.value).collect();
                    assert_eq!(values, [0.0, 0.25, 0.5, 1.0], "{}", q.key);
                }
            }
        }
    }
    // No release file in the core model: its version is a content hash, stable across loads.
    assert!(
        !m.version_declared && m.version.starts_with("sha256:"),
        "{}",
        m.version
    );
    assert_eq!(model().unwrap().version, m.version);
}

/// The official toolbox's own figures. The answers above were entered into the Interview sheet
/// of the SAMM toolbox spreadsheet (owaspsamm/toolbox-spreadsheet,
/// `resources/SAMM_spreadsheet.xlsx` at commit `3e23c6fb`, toolbox 2.0.10) as the answer texts
/// of each question's answer set, the workbook recalculated with LibreOffice Calc (headless,
/// "recalculate on load: always"), and the scores below read from its Scorecard sheet: the
/// practice scores (column C), business function scores and overall (column J), and the per-level
/// maturity of two practices (columns D–F). Nothing here was computed by Palisade's formula.
#[test]
fn the_toolbox_scores_are_reproduced() {
    let Some(m) = model() else { return };
    let s = evaluate(&m, &answers_yaml(&m.version, TOOLBOX_ANSWERS));
    let practice: BTreeMap<&str, f64> = s
        .functions
        .iter()
        .flat_map(|f| f.practices.iter())
        .map(|p| (p.key.as_str(), p.score))
        .collect();
    for (key, toolbox) in [
        ("G-SM", 0.5),
        ("G-PC", 1.625),
        ("G-EG", 2.0),
        ("D-TA", 1.125),
        ("D-SR", 1.125),
        ("D-SA", 2.0),
        ("I-SB", 1.125),
        ("I-SD", 1.25),
        ("I-DM", 1.5),
        ("V-AA", 0.75),
        ("V-RT", 0.875),
        ("V-ST", 1.0),
        ("O-IM", 1.5),
        ("O-EM", 1.25),
        ("O-OM", 1.0),
    ] {
        assert_eq!(round2(practice[key]), round2(toolbox), "{key}");
    }
    let function: BTreeMap<&str, f64> = s
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.score))
        .collect();
    for (name, toolbox) in [
        ("Governance", 1.375),
        ("Design", 1.41666666666667),
        ("Implementation", 1.29166666666667),
        ("Verification", 0.875),
        ("Operations", 1.25),
    ] {
        assert_eq!(round2(function[name]), round2(toolbox), "{name}");
    }
    assert_eq!(round2(s.overall), round2(1.24166666666667));
    assert_eq!(round2(s.overall), "1.24");
    let levels = |key: &str| {
        s.functions
            .iter()
            .flat_map(|f| f.practices.iter())
            .find(|p| p.key == key)
            .unwrap()
            .levels
            .clone()
    };
    for (key, toolbox) in [("G-PC", [0.375, 0.5, 0.75]), ("O-EM", [0.5, 0.625, 0.125])] {
        for (ours, theirs) in levels(key).iter().zip(toolbox) {
            assert!((ours - theirs).abs() < 0.005, "{key}: {ours} vs {theirs}");
        }
    }
    assert_eq!(s.answered, 85);
    assert_eq!(s.questions, 90);
}

#[test]
fn answers_may_be_the_answer_text_and_wrong_ones_are_named_with_their_line() {
    let Some(m) = model() else { return };
    let q = m.questions().next().unwrap();
    let text = &q.choices[2].text;
    let by_text = evaluate(
        &m,
        &format!(
            "format: 1\nmodel: {{ kind: samm, version: x }}\nassessments:\n  - date: 2026-01-01\n    answers:\n      {}: \"{}\"\n",
            q.key,
            text.to_uppercase()
        ),
    );
    let by_value = evaluate(&m, &answers_yaml("x", &format!("{}=0.5", q.key)));
    assert_eq!(by_text, by_value);
    for (answer, needle) in [
        ("0.3", "not one of this question's answers"),
        ("maybe", "not one of"),
    ] {
        let yaml = answers_yaml("x", &format!("{}={answer}", q.key));
        let f = answers::parse(Path::new("a.yaml"), &yaml).unwrap();
        let e = m.values(&f.assessments[0], false).unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(
            e.message.contains(needle) && e.message.contains("0.25"),
            "{e}"
        );
    }
    let f = answers::parse(Path::new("a.yaml"), &answers_yaml("x", "G-SM-A-7=1")).unwrap();
    let e = m.values(&f.assessments[0], false).unwrap_err();
    assert!(
        e.message.contains("not a question") && e.message.contains("did you mean `G-SM-A-1`"),
        "{e}"
    );
    // Answers made against another version: ids the model lacks are left out when allowed.
    assert!(m.values(&f.assessments[0], true).unwrap().is_empty());
}

#[test]
fn the_template_lists_every_question_with_its_answers_and_loads_as_answers() {
    let Some(m) = model() else { return };
    let t = m.template("2026-05-04", Some("payments"));
    let f = answers::parse(Path::new("t.yaml"), &t).unwrap_or_else(|e| panic!("{e}\n{t}"));
    assert_eq!(f.model.kind, Kind::Samm);
    assert_eq!(f.model.version, m.version);
    let a = &f.assessments[0];
    assert_eq!(
        (a.date.as_str(), a.team.as_deref()),
        ("2026-05-04", Some("payments"))
    );
    assert_eq!(a.answers.len(), 90);
    assert!(
        a.answers
            .values()
            .all(|x| x.given == answers::Given::Nothing)
    );
    let q = m.questions().next().unwrap();
    // The question, its criteria and its answers are comments just above its key.
    let at = t.find(&format!("      {}: ~", q.key)).unwrap();
    let before = &t[..at];
    assert!(before.contains(&format!("# Q: {}", q.text)));
    assert!(before.contains(&q.choices[3].text));
    assert!(before.contains(&q.quality[0]));
    // Scores of an empty assessment are zero, not an error.
    let wrapped = Model::Samm(m.clone());
    let Evaluation::Samm { scores, .. } = wrapped.evaluate(a, false).unwrap() else {
        panic!()
    };
    assert_eq!((scores.overall, scores.answered), (0.0, 0));
}

#[test]
fn a_roadmap_reaches_each_target_in_phases_lowest_levels_first() {
    let Some(m) = model() else { return };
    let yaml = answers_yaml(&m.version, TOOLBOX_ANSWERS);
    let f = answers::parse(Path::new("a.yaml"), &yaml).unwrap();
    let values = m.values(&f.assessments[0], false).unwrap();
    let targets: BTreeMap<String, f64> =
        [("G-SM", 2.0), ("I-SB", 3.0), ("D-SA", 1.5), ("V-AA", 1.3)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    let r = m.roadmap(&values, &targets, 3);
    assert_eq!(r.phases, 3);
    let plan = |k: &str| r.practices.iter().find(|p| p.key == k).unwrap();
    // Already above its target: nothing to do.
    assert!(plan("D-SA").steps.is_empty());
    // To the top: every question not at its best answer is raised to it.
    let sb = plan("I-SB");
    assert_eq!(sb.steps.len(), 4);
    assert!((sb.reached - 3.0).abs() < 1e-9);
    for p in &r.practices {
        assert!(
            p.reached >= p.target.min(3.0) - 1e-9 || p.current >= p.target,
            "{}: {} < {}",
            p.key,
            p.reached,
            p.target
        );
        // Lower maturity levels first, stream A before B.
        let order: Vec<(u8, &str)> = p
            .steps
            .iter()
            .map(|s| (s.level, s.stream.as_str()))
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "{}", p.key);
        // Phases never go back, and after phase k the practice is at its interim target.
        assert!(p.steps.windows(2).all(|w| w[0].phase <= w[1].phase));
        for k in 1..=r.phases {
            let interim = p.current + (p.target - p.current) * f64::from(k) / f64::from(r.phases);
            let reached = p
                .steps
                .iter()
                .filter(|s| s.phase <= k)
                .map(|s| s.score_after)
                .fold(p.current, f64::max);
            if p.target > p.current {
                assert!(
                    reached >= interim.min(p.reached) - 1e-9,
                    "{} phase {k}: {reached} < {interim}",
                    p.key
                );
            }
        }
    }
    // A target reached by a partial answer stops at the lowest answer that reaches it.
    let aa = plan("V-AA");
    let last = aa.steps.last().unwrap();
    assert!(last.score_after >= 1.3 - 1e-9 && last.score_before < 1.3);
    assert!(last.score_after - 1.3 < 0.5, "{last:?}");
    // Phase lists cover every step once.
    let counted: usize = (1..=3).map(|k| r.phase(k).len()).sum();
    assert_eq!(
        counted,
        r.practices.iter().map(|p| p.steps.len()).sum::<usize>()
    );
}

#[test]
fn answers_for_another_version_report_what_changed() {
    let Some(m) = model() else { return };
    let mut yaml = answers_yaml("sha256:0000000000000000", TOOLBOX_ANSWERS);
    yaml = yaml.replace("      G-SM-A-1: 0\n", "      G-SM-A-9: 0\n");
    let f = answers::parse(Path::new("old.yaml"), &yaml).unwrap();
    let mm = answers::compare(&f, Kind::Samm, &m.version, &m.ids())
        .unwrap()
        .expect("a mismatch");
    assert_eq!(mm.added, ["G-SM-A-1"]);
    assert_eq!(mm.removed, ["G-SM-A-9"]);
    let text = mm.to_string();
    assert!(
        text.contains("added in the model (1): G-SM-A-1")
            && text.contains("no longer in the model (1): G-SM-A-9"),
        "{text}"
    );
    // The same version: no mismatch. Another kind: an error at the model line.
    let same =
        answers::parse(Path::new("a.yaml"), &answers_yaml(&m.version, "G-SM-A-1=1")).unwrap();
    assert_eq!(
        answers::compare(&same, Kind::Samm, &m.version, &m.ids()).unwrap(),
        None
    );
    let e = answers::compare(&same, Kind::Dsomm, "4.3.1", &m.ids()).unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("for a samm model"), "{e}");
}
