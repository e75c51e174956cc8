//! DSOMM on the official generated model (`../shared/data/maturity/dsomm/model.yaml`): its
//! version and shape, next activities that never skip a dependency, the heat map.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use palisade_maturity::answers;
use palisade_maturity::dsomm::{self, Grouping, Status};
use palisade_maturity::svg;
use palisade_test_support::shared_data;

fn model() -> Option<dsomm::Model> {
    let p = shared_data("maturity/dsomm/model.yaml")?;
    Some(dsomm::load(&p).unwrap_or_else(|e| panic!("{e}")))
}

/// A deterministic pseudo-random choice of statuses (xorshift), so the ordering rules are
/// checked on many shapes of progress, not one hand-picked.
fn random_statuses(
    m: &dsomm::Model,
    seed: u64,
    implemented_share: u64,
) -> BTreeMap<String, Status> {
    let mut x = seed.max(1);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 100
    };
    let mut out = BTreeMap::new();
    for a in m.activities() {
        let r = next();
        let s = if r < implemented_share {
            Status::Implemented
        } else if r < implemented_share + 5 {
            Status::NotApplicable
        } else if r < implemented_share + 15 {
            Status::InProgress
        } else if r < implemented_share + 25 {
            Status::Planned
        } else {
            continue;
        };
        out.insert(a.uuid.clone(), s);
    }
    out
}

#[test]
fn the_model_is_dsomm_4_3_1_with_its_194_activities() {
    let Some(m) = model() else { return };
    assert_eq!(m.version, "4.3.1");
    assert!(m.version_declared);
    assert_eq!(m.released.as_deref(), Some("2026-05-19"));
    assert_eq!(m.activities().count(), 194);
    assert_eq!(m.dimensions.len(), 5);
    assert_eq!(m.dimensions[0].name, "Build and Deployment");
    assert!(m.activities().all(|a| (1..=5).contains(&a.level)));
    let ids = m.ids();
    assert!(
        m.activities()
            .flat_map(|a| a.depends_on.iter())
            .all(|d| ids.contains(d))
    );
    assert!(m.activities().filter(|a| !a.depends_on.is_empty()).count() > 80);
}

#[test]
fn next_activities_never_skip_a_dependency_on_the_real_model() {
    let Some(m) = model() else { return };
    for seed in 1..=40u64 {
        let statuses = random_statuses(&m, seed * 7919, (seed % 5) * 20);
        let implemented: BTreeSet<&str> = statuses
            .iter()
            .filter(|(_, s)| **s == Status::Implemented)
            .map(|(u, _)| u.as_str())
            .collect();
        let next = m.next(&statuses);
        for p in &next {
            let a = m.activity(&p.uuid).unwrap();
            for d in &a.depends_on {
                assert!(
                    implemented.contains(d.as_str()),
                    "seed {seed}: {} proposed before its dependency {d}",
                    a.name
                );
            }
            assert!(!matches!(
                statuses.get(&p.uuid),
                Some(Status::Implemented | Status::NotApplicable)
            ));
        }
        // Ready ones come lowest level first.
        assert!(
            next.windows(2).all(|w| w[0].level <= w[1].level),
            "seed {seed}"
        );
        // The plan: every dependency implemented or proposed in an earlier wave.
        let plan = m.plan(&statuses);
        let mut wave_of: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &plan {
            for d in &m.activity(&p.uuid).unwrap().depends_on {
                let ok = implemented.contains(d.as_str())
                    || wave_of.get(d.as_str()).is_some_and(|w| *w < p.wave);
                assert!(
                    ok,
                    "seed {seed}: {} in wave {} before its dependency",
                    p.name, p.wave
                );
            }
            wave_of.insert(&p.uuid, p.wave);
        }
        // Everything open is either planned or blocked by a dependency not applicable.
        let open = m
            .activities()
            .filter(|a| {
                !matches!(
                    statuses.get(&a.uuid),
                    Some(Status::Implemented | Status::NotApplicable)
                )
            })
            .count();
        let blocked = m.blocked(&statuses);
        assert_eq!(plan.len() + blocked.len(), open, "seed {seed}");
        for (_, why) in &blocked {
            assert!(!why.is_empty());
        }
    }
}

#[test]
fn with_nothing_done_only_activities_without_dependencies_are_proposed() {
    let Some(m) = model() else { return };
    let none = BTreeMap::new();
    let next = m.next(&none);
    assert_eq!(
        next.len(),
        m.activities().filter(|a| a.depends_on.is_empty()).count()
    );
    assert_eq!(next[0].level, 1);
    assert_eq!(
        m.plan(&none).len(),
        194,
        "no cycles: every activity is reachable"
    );
}

#[test]
fn the_heat_map_counts_and_draws_shares() {
    let Some(m) = model() else { return };
    let statuses = random_statuses(&m, 99, 40);
    for by in [Grouping::Dimension, Grouping::SubDimension] {
        let h = m.heatmap(&statuses, by);
        let total: usize = h.cells.iter().flatten().map(|c| c.total).sum();
        assert_eq!(total, 194);
        let implemented: usize = h.cells.iter().flatten().map(|c| c.implemented).sum();
        assert_eq!(
            implemented,
            statuses
                .values()
                .filter(|s| **s == Status::Implemented)
                .count()
        );
        let cells: Vec<Vec<svg::HeatCell>> = h
            .cells
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| svg::HeatCell {
                        share: c.share(),
                        detail: format!("{}/{}", c.implemented, c.total),
                    })
                    .collect()
            })
            .collect();
        let text = svg::heatmap("DSOMM <team> & co", &h.rows, &h.columns, &cells);
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
        // Background + one per cell + six legend swatches.
        assert_eq!(rects, 1 + h.rows.len() * 5 + 6);
        assert!(text.contains("DSOMM &lt;team&gt; &amp; co"));
        for r in &h.rows {
            assert!(
                doc.descendants()
                    .any(|n| n.has_tag_name("title") && n.text() == Some(r.as_str())),
                "{r}"
            );
        }
    }
    let sub = m.heatmap(&statuses, Grouping::SubDimension);
    assert_eq!(
        sub.rows.len(),
        m.dimensions
            .iter()
            .map(|d| d.subdimensions.len())
            .sum::<usize>()
    );
}

#[test]
fn answers_are_statuses_by_uuid_and_a_wrong_one_is_located() {
    let Some(m) = model() else { return };
    let a = m.activities().next().unwrap();
    let yaml = format!(
        "format: 1\nmodel: {{ kind: dsomm, version: 4.3.1 }}\nassessments:\n  - date: 2026-01-01\n    team: web\n    answers:\n      {}: {{ status: in progress, date: 2025-12-01, by: ana }}\n",
        a.uuid
    );
    let f = answers::parse(Path::new("a.yaml"), &yaml).unwrap();
    let s = dsomm::statuses(&f.assessments[0], &m.ids(), "DSOMM", false).unwrap();
    assert_eq!(s[&a.uuid], Status::InProgress);
    let bad = yaml.replace("in progress", "almost");
    let f = answers::parse(Path::new("a.yaml"), &bad).unwrap();
    let e = dsomm::statuses(&f.assessments[0], &m.ids(), "DSOMM", false).unwrap_err();
    assert_eq!(e.line, Some(7));
    assert!(
        e.message
            .contains("planned, in-progress, implemented, not-applicable"),
        "{e}"
    );
    // The template lists every activity and loads back.
    let t = m.template("2026-01-01", None);
    let f = answers::parse(Path::new("t.yaml"), &t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.assessments[0].answers.len(), 194);
    assert!(t.contains(&format!("# level {}: {}", a.level, a.name)));
}

#[test]
fn scores_share_implemented_leaving_out_not_applicable() {
    let Some(m) = model() else { return };
    let mut st = BTreeMap::new();
    let build = &m.dimensions[0].subdimensions[0];
    for a in build.activities.iter().filter(|a| a.level == 1) {
        st.insert(a.uuid.clone(), Status::Implemented);
    }
    let s = m.score(&st);
    let sub = &s.dimensions[0].subdimensions[0];
    assert!(sub.level_reached >= 1);
    assert_eq!(
        sub.count.implemented,
        build.activities.iter().filter(|a| a.level == 1).count()
    );
    // Not applicable leaves the share's denominator.
    let other = build.activities.iter().find(|a| a.level > 1).unwrap();
    st.insert(other.uuid.clone(), Status::NotApplicable);
    let s2 = m.score(&st);
    assert!(s2.dimensions[0].subdimensions[0].count.share() > sub.count.share());
}
