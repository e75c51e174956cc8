//! BSIMM from an activity list the user provides. BSIMM's activity descriptions are not openly
//! licensed, so Palisade ships none: the user writes (or exports) a YAML file in this format
//! (ids, domains, practices and levels are public in BSIMM reports; titles are whatever the
//! user's licence allows):
//!
//! ```yaml
//! bsimm:
//!   version: "BSIMM15"            # optional; without it the version is a content hash
//!   activities:
//!     - id: SM1.1
//!       domain: Governance
//!       practice: Strategy & Metrics
//!       level: 1
//!       title: "…"
//! ```
//!
//! # Scoring (as BSIMM reports score)
//!
//! A BSIMM assessment observes activities; its scorecard counts them. Here: the number of
//! implemented activities overall, per domain and per practice, and each practice's
//! *high-water mark*, the highest level at which at least one of its activities is
//! implemented. Answers are statuses as for DSOMM (`implemented` counts as observed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::answers::{self, Kind};
use crate::dsomm::{Count, Status};
use crate::source;

/// Most activities a file may list.
pub const MAX_ACTIVITIES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub id: String,
    pub domain: String,
    pub practice: String,
    pub level: u8,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub path: PathBuf,
    pub version: String,
    pub version_declared: bool,
    pub activities: Vec<Activity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    bsimm: Body,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    version: Option<String>,
    activities: Vec<Activity>,
}

pub fn load(path: &Path) -> Result<Model, Error> {
    let text = source::read_text(path, source::MAX_FILE_BYTES)?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> Result<Model, Error> {
    let (v, pos) = source::yaml_document(path, text)?;
    let file: File = source::deserialize(path, v, &pos)?;
    let acts = file.bsimm.activities;
    if acts.is_empty() {
        return Err(Error::file(path, "`bsimm.activities` is empty"));
    }
    if acts.len() > MAX_ACTIVITIES {
        return Err(Error::file(
            path,
            format!("more than {MAX_ACTIVITIES} activities"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, a) in acts.iter().enumerate() {
        let (line, column) = source::locate(&pos, &format!("bsimm.activities[{i}]"));
        if a.id.trim().is_empty() || !seen.insert(a.id.clone()) {
            return Err(Error::at(
                path,
                line,
                column,
                format!("activity id `{}` is empty or listed twice", a.id),
            ));
        }
        if !(1..=3).contains(&a.level) {
            return Err(Error::at(
                path,
                line,
                column,
                format!("{}: level {} is not 1–3", a.id, a.level),
            ));
        }
    }
    let (version, declared) = match file.bsimm.version.filter(|v| !v.trim().is_empty()) {
        Some(v) => (v, true),
        None => (source::content_version([text.as_bytes()]), false),
    };
    Ok(Model {
        path: path.to_path_buf(),
        version,
        version_declared: declared,
        activities: acts,
    })
}

impl Model {
    pub fn ids(&self) -> BTreeSet<String> {
        self.activities.iter().map(|a| a.id.clone()).collect()
    }

    /// Practices in the file's order, each with its domain.
    pub fn practices(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for a in &self.activities {
            if !out.iter().any(|(_, p)| *p == a.practice) {
                out.push((&a.domain, &a.practice));
            }
        }
        out
    }

    pub fn score(&self, statuses: &BTreeMap<String, Status>) -> Scores {
        let count = |f: &dyn Fn(&Activity) -> bool| {
            let mut c = Count::default();
            for a in self.activities.iter().filter(|a| f(a)) {
                c.total += 1;
                match statuses.get(&a.id) {
                    Some(Status::Implemented) => c.implemented += 1,
                    Some(Status::NotApplicable) => c.not_applicable += 1,
                    _ => {}
                }
            }
            c
        };
        let mut domains: Vec<String> = Vec::new();
        for a in &self.activities {
            if !domains.contains(&a.domain) {
                domains.push(a.domain.clone());
            }
        }
        Scores {
            observed: count(&|_| true),
            domains: domains
                .iter()
                .map(|d| (d.clone(), count(&|a| &a.domain == d)))
                .collect(),
            practices: self
                .practices()
                .into_iter()
                .map(|(d, p)| PracticeScore {
                    domain: d.to_string(),
                    practice: p.to_string(),
                    count: count(&|a| a.practice == p),
                    levels: (1..=3u8)
                        .map(|l| count(&|a| a.practice == p && a.level == l))
                        .collect(),
                    high_water_mark: self
                        .activities
                        .iter()
                        .filter(|a| {
                            a.practice == p && statuses.get(&a.id) == Some(&Status::Implemented)
                        })
                        .map(|a| a.level)
                        .max()
                        .unwrap_or(0),
                })
                .collect(),
        }
    }

    pub fn template(&self, date: &str, team: Option<&str>) -> String {
        let mut out = answers::template_head(Kind::Bsimm, &self.version, date, team);
        out.push_str("    # Each answer: planned | in-progress | implemented | not-applicable.\n    answers:\n");
        for (d, p) in self.practices() {
            out.push_str(&format!(
                "\n{}",
                answers::comment("      ", &format!("── {d} › {p} ──"))
            ));
            for a in self.activities.iter().filter(|a| a.practice == p) {
                out.push_str(&answers::comment(
                    "      ",
                    &format!("level {}: {}", a.level, a.title),
                ));
                out.push_str(&format!("      {}: ~\n", answers::yaml_string(&a.id)));
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PracticeScore {
    pub domain: String,
    pub practice: String,
    pub count: Count,
    /// Levels 1 to 3.
    pub levels: Vec<Count>,
    /// Highest level with an implemented activity; 0 for none.
    pub high_water_mark: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub observed: Count,
    pub domains: Vec<(String, Count)>,
    pub practices: Vec<PracticeScore>,
}
