//! The OWASP DevSecOps Maturity Model: activities by dimension, sub-dimension and level (1–5)
//! from DSOMM's generated `model.yaml`, each team's progress on them, the heat map and the
//! next activities in dependency order.
//!
//! # Scoring (as DSOMM's own application shows it)
//!
//! DSOMM does not reduce a team to one number: its heat map shows, for each sub-dimension and
//! level, the share of the activities that are implemented. The same share is given here per
//! dimension, per level and overall. An activity marked `not-applicable` is left out of the
//! share (it is neither implemented nor missing); `planned` and `in-progress` count as not
//! implemented. A sub-dimension's *level reached* is the highest level up to which every
//! applicable activity is implemented.
//!
//! # Next activities
//!
//! An activity is proposed only when every activity it `dependsOn` is implemented (a dependency
//! marked not-applicable is not implemented: the dependent stays blocked, and is reported as
//! such). The ready ones come lowest level first, then those in progress, then planned, then in
//! the model's order. [`Model::plan`] goes on in waves: what becomes ready once the previous
//! wave is done.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::answers::{self, Assessment, Given, Kind};
use crate::source;

/// DSOMM's levels.
pub const LEVELS: std::ops::RangeInclusive<u8> = 1..=5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Planned,
    InProgress,
    Implemented,
    NotApplicable,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Planned,
        Status::InProgress,
        Status::Implemented,
        Status::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::InProgress => "in-progress",
            Status::Implemented => "implemented",
            Status::NotApplicable => "not-applicable",
        }
    }

    /// The status written in an answers file (`in progress`, `in_progress` and `n/a` too).
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim().to_lowercase().replace(['_', ' '], "-");
        match s.as_str() {
            "planned" => Some(Status::Planned),
            "in-progress" => Some(Status::InProgress),
            "implemented" => Some(Status::Implemented),
            "not-applicable" | "n/a" => Some(Status::NotApplicable),
            _ => None,
        }
    }
}

/// Statuses of an assessment's answers (checked), by item id.
pub fn statuses(
    a: &Assessment,
    ids: &BTreeSet<String>,
    what: &str,
    allow_unknown: bool,
) -> Result<BTreeMap<String, Status>, Error> {
    let mut out = BTreeMap::new();
    for (id, ans) in &a.answers {
        if !ids.contains(id) {
            if allow_unknown {
                continue;
            }
            let hint = answers::suggest(id, ids.iter().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(a.error_at(
                id,
                format!("`{id}` is not an activity of this {what} model{hint}"),
            ));
        }
        let s = match &ans.given {
            Given::Nothing => continue,
            Given::Text(t) => Status::parse(t),
            _ => None,
        };
        let Some(s) = s else {
            return Err(a.error_at(
                id,
                format!(
                    "`{id}`: a status is one of {}",
                    Status::ALL.map(Status::as_str).join(", ")
                ),
            ));
        };
        out.insert(id.clone(), s);
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub uuid: String,
    pub name: String,
    pub dimension: String,
    pub subdimension: String,
    pub level: u8,
    /// Uuids of the activities this one depends on.
    pub depends_on: Vec<String>,
    pub description: String,
    pub risk: String,
    pub measure: String,
    pub usefulness: Option<f64>,
    #[serde(skip)]
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubDimension {
    pub name: String,
    pub activities: Vec<Activity>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    pub name: String,
    pub subdimensions: Vec<SubDimension>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub path: PathBuf,
    pub version: String,
    /// Whether the version was stated (`meta.version`) rather than a content hash.
    pub version_declared: bool,
    pub released: Option<String>,
    pub dimensions: Vec<Dimension>,
}

#[derive(Deserialize)]
struct ActivityDoc {
    uuid: String,
    level: u8,
    #[serde(default, rename = "dependsOn")]
    depends_on: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    risk: Option<String>,
    #[serde(default)]
    measure: Option<String>,
    #[serde(default)]
    usefulness: Option<f64>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    version: Option<serde_json::Value>,
    #[serde(default)]
    released: Option<String>,
}

/// Load DSOMM's generated model (`generated/model.yaml`): a `meta:` document, then the model;
/// a file with only the model is read too (its version is then a content hash).
pub fn load(path: &Path) -> Result<Model, Error> {
    let text = source::read_text(path, source::MAX_FILE_BYTES)?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> Result<Model, Error> {
    let docs = palisade_yaml::parse_stream(text).map_err(|e| {
        Error::at(
            path,
            e.line,
            e.column,
            format!("not valid YAML: {}", e.message),
        )
    })?;
    let is_meta = |n: &palisade_yaml::Node| n.entries().len() == 1 && n.get("meta").is_some();
    let (meta, root) = match docs.as_slice() {
        [m, d] if is_meta(&m.root) => (Some(&m.root), &d.root),
        [d] if !is_meta(&d.root) => (None, &d.root),
        [] => return Err(Error::at(path, 1, 1, "the file is empty")),
        _ => {
            return Err(Error::file(
                path,
                format!(
                    "{} YAML documents; a DSOMM model is a `meta:` document and the model",
                    docs.len()
                ),
            ));
        }
    };
    let mut version = None;
    let mut released = None;
    if let Some(m) = meta {
        let node = m.get("meta").expect("checked");
        let (v, pos) = source::node_value(path, node)?;
        let meta: Meta = source::deserialize(path, v, &pos)?;
        version = meta.version.and_then(|v| match v {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        released = meta.released;
    }
    if !root.is_map() {
        return Err(Error::at(
            path,
            root.line,
            root.column,
            "the model is a mapping: dimension → sub-dimension → activity",
        ));
    }
    let mut dimensions = Vec::new();
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (dk, dv) in root.entries() {
        let dname = dk
            .str()
            .ok_or_else(|| Error::at(path, dk.line, dk.column, "a dimension's name is text"))?;
        if !dv.is_map() {
            return Err(Error::at(
                path,
                dv.line,
                dv.column,
                format!("dimension `{dname}` maps sub-dimensions to activities"),
            ));
        }
        let mut subs = Vec::new();
        for (sk, sv) in dv.entries() {
            let sname = sk.str().ok_or_else(|| {
                Error::at(path, sk.line, sk.column, "a sub-dimension's name is text")
            })?;
            if !sv.is_map() {
                return Err(Error::at(
                    path,
                    sv.line,
                    sv.column,
                    format!("sub-dimension `{sname}` maps activity names to activities"),
                ));
            }
            let mut acts = Vec::new();
            for (ak, av) in sv.entries() {
                let aname = ak.str().ok_or_else(|| {
                    Error::at(path, ak.line, ak.column, "an activity's name is text")
                })?;
                let (v, pos) = source::node_value(path, av)?;
                let doc: ActivityDoc = source::deserialize(path, v, &pos)?;
                if !LEVELS.contains(&doc.level) {
                    return Err(Error::at(
                        path,
                        av.line,
                        av.column,
                        format!("`{aname}`: level {} is not 1–5", doc.level),
                    ));
                }
                if doc.uuid.trim().is_empty() || !seen.insert(doc.uuid.clone()) {
                    return Err(Error::at(
                        path,
                        av.line,
                        av.column,
                        format!("`{aname}`: its uuid `{}` is empty or used twice", doc.uuid),
                    ));
                }
                by_name.insert(aname.to_string(), doc.uuid.clone());
                acts.push(Activity {
                    uuid: doc.uuid,
                    name: aname.to_string(),
                    dimension: dname.to_string(),
                    subdimension: sname.to_string(),
                    level: doc.level,
                    depends_on: doc.depends_on.unwrap_or_default(),
                    description: doc.description.unwrap_or_default(),
                    risk: doc.risk.unwrap_or_default(),
                    measure: doc.measure.unwrap_or_default(),
                    usefulness: doc.usefulness,
                    line: ak.line,
                });
            }
            subs.push(SubDimension {
                name: sname.to_string(),
                activities: acts,
            });
        }
        dimensions.push(Dimension {
            name: dname.to_string(),
            subdimensions: subs,
        });
    }
    // Dependencies by uuid (older models name them): resolved, and without cycles.
    for d in &mut dimensions {
        for s in &mut d.subdimensions {
            for a in &mut s.activities {
                for dep in &mut a.depends_on {
                    if seen.contains(dep.as_str()) {
                        continue;
                    }
                    match by_name.get(dep.as_str()) {
                        Some(u) => *dep = u.clone(),
                        None => {
                            return Err(Error::at(
                                path,
                                a.line,
                                1,
                                format!(
                                    "`{}` depends on `{dep}`, which is not an activity of the model",
                                    a.name
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    let model = Model {
        path: path.to_path_buf(),
        version: version.clone().unwrap_or_default(),
        version_declared: version.is_some(),
        released,
        dimensions,
    };
    model.check_cycles()?;
    let version = match version {
        Some(v) => v,
        None => source::content_version([text.as_bytes()]),
    };
    Ok(Model { version, ..model })
}

impl Model {
    pub fn activities(&self) -> impl Iterator<Item = &Activity> {
        self.dimensions
            .iter()
            .flat_map(|d| d.subdimensions.iter())
            .flat_map(|s| s.activities.iter())
    }

    pub fn activity(&self, uuid: &str) -> Option<&Activity> {
        self.activities().find(|a| a.uuid == uuid)
    }

    pub fn ids(&self) -> BTreeSet<String> {
        self.activities().map(|a| a.uuid.clone()).collect()
    }

    fn check_cycles(&self) -> Result<(), Error> {
        let deps: BTreeMap<&str, &Activity> =
            self.activities().map(|a| (a.uuid.as_str(), a)).collect();
        // 0 unvisited, 1 on the path, 2 done; iterative, so a long chain cannot overflow.
        let mut state: BTreeMap<&str, u8> = BTreeMap::new();
        for start in deps.keys() {
            if state.get(start).copied().unwrap_or(0) != 0 {
                continue;
            }
            let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
            state.insert(start, 1);
            while let Some((u, i)) = stack.pop() {
                let a = deps[u];
                if let Some(d) = a.depends_on.get(i) {
                    stack.push((u, i + 1));
                    match state.get(d.as_str()).copied().unwrap_or(0) {
                        0 => {
                            state.insert(d, 1);
                            stack.push((d, 0));
                        }
                        1 => {
                            return Err(Error::at(
                                &self.path,
                                a.line,
                                1,
                                format!(
                                    "`{}` depends on itself through `{}`",
                                    a.name,
                                    deps[d.as_str()].name
                                ),
                            ));
                        }
                        _ => {}
                    }
                } else {
                    state.insert(u, 2);
                }
            }
        }
        Ok(())
    }

    /// The answers template: every activity by uuid with its place, level and dependencies.
    pub fn template(&self, date: &str, team: Option<&str>) -> String {
        let mut out = answers::template_head(Kind::Dsomm, &self.version, date, team);
        out.push_str("    # Each answer: planned | in-progress | implemented | not-applicable (with date and by, in full form).\n    answers:\n");
        for d in &self.dimensions {
            for s in &d.subdimensions {
                out.push_str(&format!(
                    "\n{}",
                    answers::comment("      ", &format!("── {} › {} ──", d.name, s.name))
                ));
                let mut acts: Vec<&Activity> = s.activities.iter().collect();
                acts.sort_by_key(|a| a.level);
                for a in acts {
                    out.push_str(&answers::comment(
                        "      ",
                        &format!("level {}: {}", a.level, a.name),
                    ));
                    if !a.depends_on.is_empty() {
                        let names: Vec<String> = a
                            .depends_on
                            .iter()
                            .filter_map(|u| self.activity(u).map(|x| x.name.clone()))
                            .collect();
                        out.push_str(&answers::comment(
                            "      ",
                            &format!("  depends on: {}", names.join("; ")),
                        ));
                    }
                    out.push_str(&format!("      {}: ~\n", answers::yaml_string(&a.uuid)));
                }
            }
        }
        out
    }

    /// The share of implemented activities per row (dimension or sub-dimension) and level.
    pub fn heatmap(&self, statuses: &BTreeMap<String, Status>, by: Grouping) -> Heatmap {
        let mut rows: Vec<(String, Vec<&Activity>)> = Vec::new();
        for d in &self.dimensions {
            match by {
                Grouping::Dimension => rows.push((
                    d.name.clone(),
                    d.subdimensions
                        .iter()
                        .flat_map(|s| s.activities.iter())
                        .collect(),
                )),
                Grouping::SubDimension => {
                    for s in &d.subdimensions {
                        rows.push((
                            format!("{} › {}", d.name, s.name),
                            s.activities.iter().collect(),
                        ));
                    }
                }
            }
        }
        let cells = rows
            .iter()
            .map(|(_, acts)| {
                LEVELS
                    .map(|l| count(acts.iter().copied().filter(|a| a.level == l), statuses))
                    .collect()
            })
            .collect();
        Heatmap {
            rows: rows.into_iter().map(|(n, _)| n).collect(),
            columns: LEVELS.map(|l| format!("Level {l}")).collect(),
            cells,
        }
    }

    /// Shares per dimension, per level and overall; levels reached per sub-dimension.
    pub fn score(&self, statuses: &BTreeMap<String, Status>) -> Scores {
        let all = count(self.activities(), statuses);
        let dimensions = self
            .dimensions
            .iter()
            .map(|d| DimensionScore {
                name: d.name.clone(),
                count: count(
                    d.subdimensions.iter().flat_map(|s| s.activities.iter()),
                    statuses,
                ),
                subdimensions: d
                    .subdimensions
                    .iter()
                    .map(|s| {
                        let mut reached = 0;
                        for l in LEVELS {
                            let done = s.activities.iter().filter(|a| a.level == l).all(|a| {
                                matches!(
                                    statuses.get(&a.uuid),
                                    Some(Status::Implemented | Status::NotApplicable)
                                )
                            });
                            if !done {
                                break;
                            }
                            reached = l;
                        }
                        SubDimensionScore {
                            name: s.name.clone(),
                            count: count(s.activities.iter(), statuses),
                            level_reached: reached,
                        }
                    })
                    .collect(),
            })
            .collect();
        Scores {
            overall: all,
            levels: LEVELS
                .map(|l| count(self.activities().filter(|a| a.level == l), statuses))
                .collect(),
            dimensions,
        }
    }

    /// What to do next: activities whose dependencies are all implemented, not yet implemented
    /// (nor not-applicable), lowest level first.
    pub fn next(&self, statuses: &BTreeMap<String, Status>) -> Vec<Proposal> {
        self.plan(statuses)
            .into_iter()
            .filter(|p| p.wave == 1)
            .collect()
    }

    /// Every open activity in waves: wave 1 is ready now; wave *n* is ready once waves before
    /// it are done. Activities blocked for good (a dependency not applicable) are left out; see
    /// [`Model::blocked`].
    pub fn plan(&self, statuses: &BTreeMap<String, Status>) -> Vec<Proposal> {
        let order: BTreeMap<&str, usize> = self
            .activities()
            .enumerate()
            .map(|(i, a)| (a.uuid.as_str(), i))
            .collect();
        let mut done: BTreeSet<&str> = statuses
            .iter()
            .filter(|(_, s)| **s == Status::Implemented)
            .map(|(u, _)| u.as_str())
            .collect();
        let mut open: Vec<&Activity> = self
            .activities()
            .filter(|a| {
                !matches!(
                    statuses.get(&a.uuid),
                    Some(Status::Implemented | Status::NotApplicable)
                )
            })
            .collect();
        let mut out = Vec::new();
        let mut wave = 1;
        loop {
            let (mut ready, rest): (Vec<&Activity>, Vec<&Activity>) = open
                .into_iter()
                .partition(|a| a.depends_on.iter().all(|d| done.contains(d.as_str())));
            if ready.is_empty() {
                break;
            }
            let rank = |a: &Activity| match statuses.get(&a.uuid) {
                Some(Status::InProgress) => 0,
                Some(Status::Planned) => 1,
                _ => 2,
            };
            ready.sort_by_key(|a| (a.level, rank(a), order[a.uuid.as_str()]));
            for a in &ready {
                out.push(Proposal {
                    uuid: a.uuid.clone(),
                    name: a.name.clone(),
                    dimension: a.dimension.clone(),
                    subdimension: a.subdimension.clone(),
                    level: a.level,
                    status: statuses.get(&a.uuid).copied(),
                    depends_on: a
                        .depends_on
                        .iter()
                        .filter_map(|d| self.activity(d).map(|x| x.name.clone()))
                        .collect(),
                    wave,
                });
            }
            done.extend(ready.iter().map(|a| a.uuid.as_str()));
            open = rest;
            wave += 1;
        }
        out
    }

    /// Open activities that can never become ready: a dependency (or one of its own) is
    /// not applicable. Each with the dependencies that block it.
    pub fn blocked(&self, statuses: &BTreeMap<String, Status>) -> Vec<(String, Vec<String>)> {
        let planned: BTreeSet<String> = self.plan(statuses).into_iter().map(|p| p.uuid).collect();
        self.activities()
            .filter(|a| {
                !planned.contains(&a.uuid)
                    && !matches!(
                        statuses.get(&a.uuid),
                        Some(Status::Implemented | Status::NotApplicable)
                    )
            })
            .map(|a| {
                let why = a
                    .depends_on
                    .iter()
                    .filter(|d| statuses.get(d.as_str()) != Some(&Status::Implemented))
                    .filter_map(|d| self.activity(d).map(|x| x.name.clone()))
                    .collect();
                (a.name.clone(), why)
            })
            .collect()
    }
}

fn count<'a>(
    acts: impl Iterator<Item = &'a Activity>,
    statuses: &BTreeMap<String, Status>,
) -> Count {
    let mut c = Count::default();
    for a in acts {
        c.total += 1;
        match statuses.get(&a.uuid) {
            Some(Status::Implemented) => c.implemented += 1,
            Some(Status::NotApplicable) => c.not_applicable += 1,
            _ => {}
        }
    }
    c
}

/// Activities counted: all, implemented, not applicable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Count {
    pub total: usize,
    pub implemented: usize,
    pub not_applicable: usize,
}

impl Count {
    /// Implemented among the applicable ones (0–1); `None` when none is applicable.
    pub fn share(&self) -> Option<f64> {
        let applicable = self.total - self.not_applicable;
        (applicable > 0).then(|| self.implemented as f64 / applicable as f64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Dimension,
    SubDimension,
}

/// Rows × columns of counts: the data of a heat map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heatmap {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub cells: Vec<Vec<Count>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubDimensionScore {
    pub name: String,
    pub count: Count,
    /// 0 when level 1 is not complete.
    pub level_reached: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionScore {
    pub name: String,
    pub count: Count,
    pub subdimensions: Vec<SubDimensionScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub overall: Count,
    /// Levels 1 to 5.
    pub levels: Vec<Count>,
    pub dimensions: Vec<DimensionScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub uuid: String,
    pub name: String,
    pub dimension: String,
    pub subdimension: String,
    pub level: u8,
    pub status: Option<Status>,
    /// Names of its dependencies (all implemented, or proposed in an earlier wave).
    pub depends_on: Vec<String>,
    pub wave: usize,
}
