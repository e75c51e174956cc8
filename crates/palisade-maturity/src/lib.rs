//! Maturity assessments, offline: OWASP SAMM v2, the OWASP DevSecOps Maturity Model (DSOMM),
//! NIST CSF 2.0 and BSIMM, each loaded from the official machine-readable model files the user
//! gives (BSIMM: an activity file the user writes), answered in YAML answers files, and scored
//! the way each model scores (the formulas and their sources are in each model's module:
//! [`samm`], [`dsomm`], [`csf`], [`bsimm`]).
//!
//! - [`load`] reads a model (a SAMM directory, DSOMM's `model.yaml`, the CSF OSCAL catalog, a
//!   BSIMM activity file) and knows its version: the model's own where it states one, a content
//!   hash otherwise.
//! - [`answers`] reads answers files; [`answers::compare`] finds a file made against another
//!   version of the model and what changed (items added and removed).
//! - [`Model::evaluate`] checks an assessment against the model and scores it;
//!   [`history`] compares two assessments and follows scores over time; [`svg`] draws heat maps
//!   and progress charts; [`report`] renders tables as text, Markdown and HTML.
//!
//! [`evidence`] proposes answers from what Palisade's own record shows (scans, SBOMs, threat
//! models, on-call, incidents), for a person to confirm.
//!
//! Pure but for reading the model and answers files: no network, no clock (dates are passed
//! in), no environment. No model text is compiled in: everything shown comes from the user's copy.

pub mod answers;
pub mod bsimm;
pub mod csf;
pub mod dsomm;
mod error;
pub mod evidence;
pub mod history;
pub mod report;
pub mod samm;
pub mod source;
pub mod stream;
pub mod svg;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use answers::{Assessment, Kind};
pub use error::Error;

/// A loaded model.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    Samm(samm::Model),
    Dsomm(dsomm::Model),
    Csf(csf::Model),
    Bsimm(bsimm::Model),
}

/// Which kind of model `path` holds: a directory is SAMM; a JSON file with a `catalog` is the
/// CSF catalog; a YAML file with `bsimm:` is a BSIMM activity file; other YAML is DSOMM.
pub fn detect(path: &Path) -> Result<Kind, Error> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return match samm::model_dir(path) {
            Some(_) => Ok(Kind::Samm),
            None => Err(Error::file(
                path,
                "a directory, but not a SAMM model (no business_functions/ and questions/, nor model/ holding them)",
            )),
        };
    }
    let text = source::read_text(path, source::MAX_FILE_BYTES)?;
    let start = text.trim_start();
    if start.starts_with('{') {
        return if start.contains("\"catalog\"") {
            Ok(Kind::Csf)
        } else {
            Err(Error::file(
                path,
                "JSON, but not an OSCAL catalog (no `catalog`)",
            ))
        };
    }
    let docs = palisade_yaml::parse_stream(&text).map_err(|e| {
        Error::at(
            path,
            e.line,
            e.column,
            format!("neither JSON nor valid YAML: {}", e.message),
        )
    })?;
    let first = docs
        .first()
        .ok_or_else(|| Error::at(path, 1, 1, "the file is empty"))?;
    if first.root.get("bsimm").is_some() {
        Ok(Kind::Bsimm)
    } else if first.root.get("format").is_some() && first.root.get("assessments").is_some() {
        Err(Error::file(
            path,
            "this is an answers file, not a model; give it with --answers",
        ))
    } else if first.root.is_map() {
        Ok(Kind::Dsomm)
    } else {
        Err(Error::at(
            path,
            first.root.line,
            first.root.column,
            "not a model Palisade knows (SAMM directory, DSOMM model.yaml, CSF OSCAL catalog, BSIMM activity file)",
        ))
    }
}

/// Load a model; `kind` when known, detected otherwise.
pub fn load(path: &Path, kind: Option<Kind>) -> Result<Model, Error> {
    let kind = match kind {
        Some(k) => k,
        None => detect(path)?,
    };
    Ok(match kind {
        Kind::Samm => Model::Samm(samm::load(path)?),
        Kind::Dsomm => Model::Dsomm(dsomm::load(path)?),
        Kind::Csf => Model::Csf(csf::load(path)?),
        Kind::Bsimm => Model::Bsimm(bsimm::load(path)?),
    })
}

/// What a model is, for `palisade maturity models`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    pub path: PathBuf,
    pub kind: Kind,
    pub title: String,
    pub version: String,
    /// `model` when the model states its version, `content-hash` otherwise.
    pub version_source: &'static str,
    /// What it holds: (what, how many).
    pub counts: Vec<(String, usize)>,
}

/// An assessment checked against a model, with its scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Evaluation {
    Samm {
        values: BTreeMap<String, f64>,
        scores: samm::Scores,
    },
    Dsomm {
        statuses: BTreeMap<String, dsomm::Status>,
        scores: dsomm::Scores,
    },
    Csf {
        profiles: Vec<(String, answers::Levels)>,
        report: csf::GapReport,
    },
    Bsimm {
        statuses: BTreeMap<String, dsomm::Status>,
        scores: bsimm::Scores,
    },
}

impl Model {
    pub fn kind(&self) -> Kind {
        match self {
            Model::Samm(_) => Kind::Samm,
            Model::Dsomm(_) => Kind::Dsomm,
            Model::Csf(_) => Kind::Csf,
            Model::Bsimm(_) => Kind::Bsimm,
        }
    }

    pub fn version(&self) -> &str {
        match self {
            Model::Samm(m) => &m.version,
            Model::Dsomm(m) => &m.version,
            Model::Csf(m) => &m.version,
            Model::Bsimm(m) => &m.version,
        }
    }

    /// The items an assessment answers: SAMM question keys, DSOMM activity uuids, CSF
    /// subcategory ids, BSIMM activity ids.
    pub fn ids(&self) -> BTreeSet<String> {
        match self {
            Model::Samm(m) => m.ids(),
            Model::Dsomm(m) => m.ids(),
            Model::Csf(m) => m.ids(),
            Model::Bsimm(m) => m.ids(),
        }
    }

    /// A person's name for an item (for diffs and warnings).
    pub fn label(&self, id: &str) -> String {
        let found = match self {
            Model::Samm(m) => m.practices().find_map(|(_, p)| {
                p.streams.iter().find_map(|s| {
                    s.levels.iter().find_map(|l| {
                        l.questions.iter().find(|q| q.key == id).map(|_| {
                            format!(
                                "{} · stream {} · level {}: {}",
                                p.name, s.letter, l.number, l.activity.title
                            )
                        })
                    })
                })
            }),
            Model::Dsomm(m) => m
                .activity(id)
                .map(|a| format!("{} › {}: {}", a.dimension, a.subdimension, a.name)),
            Model::Csf(m) => m
                .subcategories()
                .find(|(_, _, s)| s.id == id)
                .map(|(_, _, s)| s.statement.clone()),
            Model::Bsimm(m) => m
                .activities
                .iter()
                .find(|a| a.id == id)
                .map(|a| format!("{}: {}", a.practice, a.title)),
        };
        source::one_line(&found.unwrap_or_default())
    }

    pub fn info(&self) -> Info {
        let (path, title, declared, counts): (&Path, String, bool, Vec<(String, usize)>) =
            match self {
                Model::Samm(m) => (
                    &m.dir,
                    "OWASP SAMM v2".into(),
                    m.version_declared,
                    vec![
                        ("business functions".into(), m.functions.len()),
                        ("security practices".into(), m.practices().count()),
                        (
                            "streams".into(),
                            m.practices().map(|(_, p)| p.streams.len()).sum(),
                        ),
                        ("questions".into(), m.questions().count()),
                    ],
                ),
                Model::Dsomm(m) => (
                    &m.path,
                    "OWASP DevSecOps Maturity Model".into(),
                    m.version_declared,
                    vec![
                        ("dimensions".into(), m.dimensions.len()),
                        (
                            "sub-dimensions".into(),
                            m.dimensions.iter().map(|d| d.subdimensions.len()).sum(),
                        ),
                        ("activities".into(), m.activities().count()),
                        (
                            "dependencies".into(),
                            m.activities().map(|a| a.depends_on.len()).sum(),
                        ),
                    ],
                ),
                Model::Csf(m) => (
                    &m.path,
                    m.title.clone(),
                    m.version_declared,
                    vec![
                        ("functions".into(), m.functions.len()),
                        (
                            "categories".into(),
                            m.functions.iter().map(|f| f.categories.len()).sum(),
                        ),
                        ("subcategories".into(), m.subcategories().count()),
                    ],
                ),
                Model::Bsimm(m) => (
                    &m.path,
                    "BSIMM activities (user-provided)".into(),
                    m.version_declared,
                    vec![
                        ("practices".into(), m.practices().len()),
                        ("activities".into(), m.activities.len()),
                    ],
                ),
            };
        Info {
            path: path.to_path_buf(),
            kind: self.kind(),
            title: source::one_line(&title),
            version: self.version().to_string(),
            version_source: if declared { "model" } else { "content-hash" },
            counts,
        }
    }

    /// An answers template for this model, one assessment dated `date`.
    pub fn template(&self, date: &str, team: Option<&str>) -> String {
        match self {
            Model::Samm(m) => m.template(date, team),
            Model::Dsomm(m) => m.template(date, team),
            Model::Csf(m) => m.template(date, team),
            Model::Bsimm(m) => m.template(date, team),
        }
    }

    /// Check an assessment against the model and score it. Ids the model does not have are
    /// errors unless `allow_unknown` (answers made against another version of the model).
    ///
    /// Answers Palisade proposed ([`evidence::PROPOSER`]) count only once a person confirmed
    /// them (`confirmed_by`); until then they are read as unanswered
    /// ([`evidence::unconfirmed`] lists them).
    pub fn evaluate(&self, a: &Assessment, allow_unknown: bool) -> Result<Evaluation, Error> {
        let counted = evidence::counted(a);
        let a = &counted;
        Ok(match self {
            Model::Samm(m) => {
                let values = m.values(a, allow_unknown)?;
                let scores = m.score(&values);
                Evaluation::Samm { values, scores }
            }
            Model::Dsomm(m) => {
                let statuses = dsomm::statuses(a, &m.ids(), "DSOMM", allow_unknown)?;
                let scores = m.score(&statuses);
                Evaluation::Dsomm { statuses, scores }
            }
            Model::Csf(m) => {
                let profiles = m.profiles(a, allow_unknown)?;
                let report = m.gaps(&profiles, a.tier);
                Evaluation::Csf { profiles, report }
            }
            Model::Bsimm(m) => {
                let statuses = dsomm::statuses(a, &m.ids(), "BSIMM", allow_unknown)?;
                let scores = m.score(&statuses);
                Evaluation::Bsimm { statuses, scores }
            }
        })
    }
}

/// What a heat map shows: a title, row and column labels, and a cell per row and column.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    pub title: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub cells: Vec<Vec<svg::HeatCell>>,
}

impl Heat {
    /// The heat map as SVG, titled with `label` (the assessment's date and team).
    pub fn svg(&self, label: &str) -> String {
        svg::heatmap(
            &format!("{} — {label}", self.title),
            &self.rows,
            &self.columns,
            &self.cells,
        )
    }
}

/// `3/5`, or `3/5 (1 n/a)`.
pub fn counted(c: &dsomm::Count) -> String {
    let applicable = c.total - c.not_applicable;
    if c.not_applicable > 0 {
        format!(
            "{}/{} ({} n/a)",
            c.implemented, applicable, c.not_applicable
        )
    } else {
        format!("{}/{}", c.implemented, applicable)
    }
}

impl Model {
    /// The heat map of an evaluation: DSOMM dimension (or, `by_sub_dimension`, sub-dimension)
    /// × level as shares implemented; SAMM practice × level scores; BSIMM practice × level
    /// shares observed. `None` for NIST CSF, which has no levels to map.
    pub fn heat(&self, ev: &Evaluation, by_sub_dimension: bool) -> Option<Heat> {
        let cell = |c: &dsomm::Count| svg::HeatCell {
            share: c.share(),
            detail: format!("{} implemented", counted(c)),
        };
        match (self, ev) {
            (Model::Dsomm(dm), Evaluation::Dsomm { statuses, .. }) => {
                let g = if by_sub_dimension {
                    dsomm::Grouping::SubDimension
                } else {
                    dsomm::Grouping::Dimension
                };
                let h = dm.heatmap(statuses, g);
                Some(Heat {
                    title: "DSOMM: share of activities implemented".into(),
                    cells: h
                        .cells
                        .iter()
                        .map(|r| r.iter().map(cell).collect())
                        .collect(),
                    rows: h.rows,
                    columns: h.columns,
                })
            }
            (Model::Samm(_), Evaluation::Samm { scores, .. }) => {
                let practices: Vec<&samm::PracticeScore> = scores
                    .functions
                    .iter()
                    .flat_map(|f| f.practices.iter())
                    .collect();
                Some(Heat {
                    title: "OWASP SAMM: score per practice and maturity level".into(),
                    rows: practices
                        .iter()
                        .map(|p| format!("{} {}", p.key, p.name))
                        .collect(),
                    columns: (1..=3).map(|l| format!("Level {l}")).collect(),
                    cells: practices
                        .iter()
                        .map(|p| {
                            p.levels
                                .iter()
                                .map(|v| svg::HeatCell {
                                    share: Some(*v),
                                    detail: format!("level score {}", report::fixed2(*v)),
                                })
                                .collect()
                        })
                        .collect(),
                })
            }
            (Model::Bsimm(_), Evaluation::Bsimm { scores, .. }) => Some(Heat {
                title: "BSIMM: share of activities observed".into(),
                rows: scores
                    .practices
                    .iter()
                    .map(|p| p.practice.clone())
                    .collect(),
                columns: (1..=3).map(|l| format!("Level {l}")).collect(),
                cells: scores
                    .practices
                    .iter()
                    .map(|p| p.levels.iter().map(cell).collect())
                    .collect(),
            }),
            _ => None,
        }
    }
}

impl Evaluation {
    /// Each answered item's answer as text (`0.5`, `implemented`, `1 → 3`).
    pub fn answer_texts(&self) -> BTreeMap<String, String> {
        match self {
            Evaluation::Samm { values, .. } => values
                .iter()
                .map(|(k, v)| (k.clone(), samm::fmt_value(*v)))
                .collect(),
            Evaluation::Dsomm { statuses, .. } | Evaluation::Bsimm { statuses, .. } => statuses
                .iter()
                .map(|(k, s)| (k.clone(), s.as_str().to_string()))
                .collect(),
            Evaluation::Csf { profiles, .. } => profiles
                .iter()
                .map(|(k, l)| {
                    let f = |x: Option<u8>| x.map(|x| x.to_string()).unwrap_or_else(|| "–".into());
                    (
                        k.clone(),
                        format!("current {} target {}", f(l.current), f(l.target)),
                    )
                })
                .collect(),
        }
    }

    /// The headline figures: overall, per top-level group, per part (for diffs and charts).
    pub fn summary(&self) -> history::Summary {
        use history::{Summary, Unit};
        let pct = |c: &dsomm::Count| c.share().map(|s| s * 100.0);
        match self {
            Evaluation::Samm { scores, .. } => Summary {
                unit: Unit::Score,
                max: 3.0,
                overall: Some(scores.overall),
                groups: scores
                    .functions
                    .iter()
                    .map(|f| (f.name.clone(), Some(f.score)))
                    .collect(),
                parts: scores
                    .functions
                    .iter()
                    .flat_map(|f| f.practices.iter())
                    .map(|p| (format!("{} {}", p.key, p.name), Some(p.score)))
                    .collect(),
            },
            Evaluation::Dsomm { scores, .. } => Summary {
                unit: Unit::Percent,
                max: 100.0,
                overall: pct(&scores.overall),
                groups: scores
                    .dimensions
                    .iter()
                    .map(|d| (d.name.clone(), pct(&d.count)))
                    .collect(),
                parts: scores
                    .dimensions
                    .iter()
                    .flat_map(|d| {
                        d.subdimensions
                            .iter()
                            .map(move |s| (format!("{} › {}", d.name, s.name), pct(&s.count)))
                    })
                    .collect(),
            },
            Evaluation::Csf { report, .. } => Summary {
                unit: Unit::Level,
                max: f64::from(csf::MAX_LEVEL),
                overall: report.overall.current,
                groups: report
                    .functions
                    .iter()
                    .map(|f| (f.title.clone(), f.figure.current))
                    .collect(),
                parts: report
                    .functions
                    .iter()
                    .flat_map(|f| f.categories.iter())
                    .map(|c| (format!("{} {}", c.id, c.title), c.figure.current))
                    .collect(),
            },
            Evaluation::Bsimm { scores, .. } => Summary {
                unit: Unit::Percent,
                max: 100.0,
                overall: pct(&scores.observed),
                groups: scores
                    .domains
                    .iter()
                    .map(|(d, c)| (d.clone(), pct(c)))
                    .collect(),
                parts: scores
                    .practices
                    .iter()
                    .map(|p| (p.practice.clone(), pct(&p.count)))
                    .collect(),
            },
        }
    }
}
