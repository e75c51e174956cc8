//! OWASP SAMM v2: the model from the core repository's YAML (`model/` of owaspsamm/core), answers
//! checked against each question's answer set, scores as the official SAMM toolbox computes
//! them, and a roadmap in phases.
//!
//! # Scoring (the toolbox's formulas)
//!
//! Read from the cell formulas of the official toolbox, `SAMM_spreadsheet.xlsx` of
//! owaspsamm/toolbox-spreadsheet (commit `3e23c6fb`, 2024-06-26, toolbox 2.0.10):
//!
//! - an answer's value is looked up in its question's answer set (`Interview!G18`:
//!   `INDEX(AnsXTBL, MATCH(answer, …), 2)`), an unanswered question counting 0 (`IFERROR(…, 0)`);
//! - a practice's score at maturity level *l* is the average of its two streams' answers at that
//!   level (`Interview!H18 = AVERAGE(G18, G25)`: stream A and stream B, level 1);
//! - a practice's score is the sum of its three level scores (`Interview!J18 = SUM(H18, H20,
//!   H22)`), so 0 to 3;
//! - a business function's score is the average of its three practices (`Scorecard!J14 =
//!   AVERAGE(C14:C16)`);
//! - the overall score is the average of the five business functions (`Scorecard!J19 =
//!   AVERAGE(J14:J18)`).
//!
//! A stream's score, which the toolbox does not show, is here the sum of its answers (0 to 3), so
//! a practice's score is also the average of its streams' scores. Where a level has more than one
//! question (the core model has one per activity), the level's value is their average. Answer
//! weights (`weight` in the answer sets, all 1) are not used by the toolbox and not here.
//! `tests/samm.rs` reproduces the toolbox's own figures for a filled-in interview.
//!
//! # Roadmap
//!
//! The toolbox's roadmap sheet leaves the phases to the assessor (target answers per phase).
//! Here, given a target score per practice and a number of phases, the improvements are chosen
//! in SAMM's own order — lower maturity levels first, stream A before B at a level — each raising
//! one question's answer to the lowest answer that reaches the target (usually the full answer),
//! and spread over the phases so that after phase *k* of *n* a practice is at least at
//! `current + (target − current) · k / n`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::answers::{self, Assessment, Given, Kind};
use crate::source::{self, Positions};

/// Most YAML files a SAMM model directory may hold.
pub const MAX_FILES: usize = 5_000;
/// Largest SAMM YAML file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Largest total of a SAMM model directory's YAML.
pub const MAX_TOTAL_BYTES: u64 = 32 * 1024 * 1024;

/// The folders of the core model, in the order they are read.
pub const FOLDERS: [&str; 8] = [
    "business_functions",
    "security_practices",
    "streams",
    "maturity_levels",
    "practice_levels",
    "activities",
    "questions",
    "answer_sets",
];

/// One possible answer of a question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub text: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Question {
    /// `G-SM-A-1`: function letter, practice, stream, level (`-2`… for a level's further
    /// questions).
    pub key: String,
    pub id: String,
    pub text: String,
    /// The quality criteria: what a "yes" means.
    pub quality: Vec<String>,
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub id: String,
    pub title: String,
    pub benefit: String,
    pub short_description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    pub number: u8,
    pub activity: Activity,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stream {
    pub id: String,
    pub name: String,
    pub letter: String,
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Practice {
    pub id: String,
    pub name: String,
    /// `SM`, `PC` …
    pub short: String,
    /// `G-SM`: function letter and short name.
    pub key: String,
    /// The objective of each maturity level (1 to 3).
    pub objectives: Vec<String>,
    pub streams: Vec<Stream>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Function {
    pub id: String,
    pub name: String,
    pub letter: String,
    pub practices: Vec<Practice>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub dir: PathBuf,
    pub version: String,
    /// Whether the version was stated (a `VERSION` file) rather than a content hash.
    pub version_declared: bool,
    pub functions: Vec<Function>,
}

// The documents as written. Unknown fields are allowed: the core model adds fields over time.
#[derive(Deserialize)]
struct FunctionDoc {
    id: String,
    name: String,
    #[serde(default)]
    order: i64,
}
#[derive(Deserialize)]
struct PracticeDoc {
    function: String,
    id: String,
    name: String,
    #[serde(rename = "shortName")]
    short_name: String,
    #[serde(default)]
    order: i64,
}
#[derive(Deserialize)]
struct StreamDoc {
    practice: String,
    id: String,
    name: String,
    letter: String,
    #[serde(default)]
    order: i64,
}
#[derive(Deserialize)]
struct MaturityLevelDoc {
    id: String,
    number: u8,
}
#[derive(Deserialize)]
struct PracticeLevelDoc {
    practice: String,
    #[serde(rename = "maturityLevel")]
    maturity_level: String,
    id: String,
    #[serde(default)]
    objective: Option<String>,
}
#[derive(Deserialize)]
struct ActivityDoc {
    stream: String,
    level: String,
    id: String,
    title: String,
    #[serde(default)]
    benefit: Option<String>,
    #[serde(default, rename = "shortDescription")]
    short_description: Option<String>,
}
#[derive(Deserialize)]
struct QuestionDoc {
    activity: String,
    #[serde(rename = "answerSet")]
    answer_set: String,
    id: String,
    text: String,
    #[serde(default)]
    order: i64,
    #[serde(default)]
    quality: Option<Vec<String>>,
}
#[derive(Deserialize)]
struct AnswerSetDoc {
    id: String,
    values: Vec<AnswerDoc>,
}
#[derive(Deserialize)]
struct AnswerDoc {
    text: String,
    value: f64,
    #[serde(default)]
    order: i64,
}

/// A parsed document and where it came from.
struct Doc<T> {
    doc: T,
    file: PathBuf,
    line: usize,
}

/// The directory that holds the model's folders: `dir` itself or `dir/model`.
pub fn model_dir(dir: &Path) -> Option<PathBuf> {
    [dir.to_path_buf(), dir.join("model")]
        .into_iter()
        .find(|d| d.join("business_functions").is_dir() && d.join("questions").is_dir())
}

struct Reader {
    files: usize,
    bytes: u64,
    hashed: Vec<(String, Vec<u8>)>,
}

impl Reader {
    fn folder<T: serde::de::DeserializeOwned>(
        &mut self,
        root: &Path,
        name: &str,
    ) -> Result<Vec<Doc<T>>, Error> {
        let dir = root.join(name);
        let mut paths: Vec<PathBuf> = Vec::new();
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Error::file(&dir, format!("cannot read the folder: {e}")))?;
        for (n, e) in entries.enumerate() {
            // A folder of a million entries is not a SAMM model: stop looking well before.
            if n >= MAX_FILES * 4 {
                return Err(Error::file(
                    &dir,
                    format!(
                        "more than {} entries; this is not a SAMM model",
                        MAX_FILES * 4
                    ),
                ));
            }
            let Ok(e) = e else { continue };
            let p = e.path();
            if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                paths.push(p);
            }
        }
        paths.sort();
        let mut out = Vec::new();
        for p in paths {
            let meta = std::fs::symlink_metadata(&p)
                .map_err(|e| Error::file(&p, format!("cannot read: {e}")))?;
            if !meta.is_file() {
                return Err(Error::file(&p, "not a regular file (a link or a device)"));
            }
            self.files += 1;
            if self.files > MAX_FILES {
                return Err(Error::file(
                    root,
                    format!("more than {MAX_FILES} YAML files; this is not a SAMM model"),
                ));
            }
            let text = source::read_text(&p, MAX_FILE_BYTES)?;
            self.bytes += text.len() as u64;
            if self.bytes > MAX_TOTAL_BYTES {
                return Err(Error::file(
                    root,
                    format!("more than {MAX_TOTAL_BYTES} bytes of YAML; this is not a SAMM model"),
                ));
            }
            let (value, pos): (Value, Positions) = source::yaml_document(&p, &text)?;
            let line = pos.get("").map(|x| x.0).unwrap_or(1);
            let doc: T = source::deserialize(&p, value, &pos)?;
            self.hashed
                .push((format!("{name}/{}", file_name(&p)), text.into_bytes()));
            out.push(Doc { doc, file: p, line });
        }
        Ok(out)
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn dangling<T>(d: &Doc<T>, what: &str, id: &str) -> Error {
    Error::at(
        &d.file,
        d.line,
        1,
        format!("refers to {what} `{id}`, which the model does not have"),
    )
}

/// Load a SAMM model from its directory (the core repository's `model/`, or its parent).
pub fn load(dir: &Path) -> Result<Model, Error> {
    let root = model_dir(dir).ok_or_else(|| {
        Error::file(
            dir,
            "not a SAMM model directory: no business_functions/ and questions/ here or in model/",
        )
    })?;
    let mut r = Reader {
        files: 0,
        bytes: 0,
        hashed: Vec::new(),
    };
    let functions: Vec<Doc<FunctionDoc>> = r.folder(&root, "business_functions")?;
    let practices: Vec<Doc<PracticeDoc>> = r.folder(&root, "security_practices")?;
    let streams: Vec<Doc<StreamDoc>> = r.folder(&root, "streams")?;
    let mlevels: Vec<Doc<MaturityLevelDoc>> = r.folder(&root, "maturity_levels")?;
    let plevels: Vec<Doc<PracticeLevelDoc>> = r.folder(&root, "practice_levels")?;
    let activities: Vec<Doc<ActivityDoc>> = r.folder(&root, "activities")?;
    let questions: Vec<Doc<QuestionDoc>> = r.folder(&root, "questions")?;
    let answer_sets: Vec<Doc<AnswerSetDoc>> = r.folder(&root, "answer_sets")?;

    let number_of: BTreeMap<&str, u8> = mlevels
        .iter()
        .map(|m| (m.doc.id.as_str(), m.doc.number))
        .collect();
    for m in &mlevels {
        if !(1..=3).contains(&m.doc.number) {
            return Err(Error::at(
                &m.file,
                m.line,
                1,
                format!("maturity level {} is not 1, 2 or 3", m.doc.number),
            ));
        }
    }
    let mut sets: BTreeMap<&str, Vec<Choice>> = BTreeMap::new();
    for s in &answer_sets {
        let mut values: Vec<&AnswerDoc> = s.doc.values.iter().collect();
        values.sort_by_key(|v| v.order);
        if values.is_empty() {
            return Err(Error::at(
                &s.file,
                s.line,
                1,
                "an answer set without answers",
            ));
        }
        for v in &values {
            if !(0.0..=1.0).contains(&v.value) {
                return Err(Error::at(
                    &s.file,
                    s.line,
                    1,
                    format!("answer value {} is outside 0–1", v.value),
                ));
            }
        }
        sets.insert(
            &s.doc.id,
            values
                .iter()
                .map(|v| Choice {
                    text: v.text.clone(),
                    value: v.value,
                })
                .collect(),
        );
    }
    // practice level id → (practice id, level number, objective)
    let mut plevel: BTreeMap<&str, (&str, u8)> = BTreeMap::new();
    let mut objectives: BTreeMap<(&str, u8), String> = BTreeMap::new();
    for p in &plevels {
        let n = *number_of
            .get(p.doc.maturity_level.as_str())
            .ok_or_else(|| dangling(p, "maturity level", &p.doc.maturity_level))?;
        plevel.insert(&p.doc.id, (&p.doc.practice, n));
        objectives.insert(
            (&p.doc.practice, n),
            p.doc.objective.clone().unwrap_or_default(),
        );
    }
    // activity id → (stream id, level)
    let mut activity_at: BTreeMap<&str, (&str, u8)> = BTreeMap::new();
    for a in &activities {
        let (_, n) = *plevel
            .get(a.doc.level.as_str())
            .ok_or_else(|| dangling(a, "practice level", &a.doc.level))?;
        activity_at.insert(&a.doc.id, (&a.doc.stream, n));
    }
    let mut questions_of: BTreeMap<&str, Vec<&Doc<QuestionDoc>>> = BTreeMap::new();
    for q in &questions {
        if !activity_at.contains_key(q.doc.activity.as_str()) {
            return Err(dangling(q, "activity", &q.doc.activity));
        }
        if !sets.contains_key(q.doc.answer_set.as_str()) {
            return Err(dangling(q, "answer set", &q.doc.answer_set));
        }
        questions_of.entry(&q.doc.activity).or_default().push(q);
    }
    for p in &practices {
        if !functions.iter().any(|f| f.doc.id == p.doc.function) {
            return Err(dangling(p, "business function", &p.doc.function));
        }
    }
    for s in &streams {
        if !practices.iter().any(|p| p.doc.id == s.doc.practice) {
            return Err(dangling(s, "security practice", &s.doc.practice));
        }
    }

    let mut fns: Vec<&Doc<FunctionDoc>> = functions.iter().collect();
    fns.sort_by_key(|f| f.doc.order);
    let mut seen_keys = BTreeSet::new();
    let mut out = Vec::new();
    for f in fns {
        let letter: String = f
            .doc
            .name
            .chars()
            .take(1)
            .collect::<String>()
            .to_uppercase();
        let mut ps: Vec<&Doc<PracticeDoc>> = practices
            .iter()
            .filter(|p| p.doc.function == f.doc.id)
            .collect();
        ps.sort_by_key(|p| p.doc.order);
        let mut practices_out = Vec::new();
        for p in ps {
            let key = format!("{letter}-{}", p.doc.short_name);
            let mut ss: Vec<&Doc<StreamDoc>> = streams
                .iter()
                .filter(|s| s.doc.practice == p.doc.id)
                .collect();
            ss.sort_by_key(|s| (s.doc.order, s.doc.letter.clone()));
            let mut streams_out = Vec::new();
            for s in ss {
                let mut levels = Vec::new();
                for n in 1..=3u8 {
                    let acts: Vec<&Doc<ActivityDoc>> = activities
                        .iter()
                        .filter(|a| {
                            activity_at.get(a.doc.id.as_str()) == Some(&(s.doc.id.as_str(), n))
                        })
                        .collect();
                    let [a] = acts.as_slice() else {
                        return Err(Error::at(
                            &s.file,
                            s.line,
                            1,
                            format!(
                                "stream {} of {} has {} activities at level {n}; SAMM has one",
                                s.doc.letter,
                                p.doc.name,
                                acts.len()
                            ),
                        ));
                    };
                    let mut qs = questions_of
                        .get(a.doc.id.as_str())
                        .cloned()
                        .unwrap_or_default();
                    qs.sort_by_key(|q| q.doc.order);
                    if qs.is_empty() {
                        return Err(Error::at(
                            &a.file,
                            a.line,
                            1,
                            "an activity without a question",
                        ));
                    }
                    let questions = qs
                        .iter()
                        .enumerate()
                        .map(|(i, q)| {
                            let mut k = format!("{key}-{}-{n}", s.doc.letter);
                            if i > 0 {
                                k.push_str(&format!("-{}", i + 1));
                            }
                            Question {
                                key: k,
                                id: q.doc.id.clone(),
                                text: q.doc.text.clone(),
                                quality: q.doc.quality.clone().unwrap_or_default(),
                                choices: sets[q.doc.answer_set.as_str()].clone(),
                            }
                        })
                        .collect::<Vec<_>>();
                    for q in &questions {
                        if !seen_keys.insert(q.key.clone()) {
                            return Err(Error::at(
                                &a.file,
                                a.line,
                                1,
                                format!("two questions would both be `{}`", q.key),
                            ));
                        }
                    }
                    levels.push(Level {
                        number: n,
                        activity: Activity {
                            id: a.doc.id.clone(),
                            title: a.doc.title.clone(),
                            benefit: a.doc.benefit.clone().unwrap_or_default(),
                            short_description: a.doc.short_description.clone().unwrap_or_default(),
                        },
                        questions,
                    });
                }
                streams_out.push(Stream {
                    id: s.doc.id.clone(),
                    name: s.doc.name.clone(),
                    letter: s.doc.letter.clone(),
                    levels,
                });
            }
            if streams_out.is_empty() {
                return Err(Error::at(
                    &p.file,
                    p.line,
                    1,
                    format!("practice {} has no streams", p.doc.name),
                ));
            }
            practices_out.push(Practice {
                id: p.doc.id.clone(),
                name: p.doc.name.clone(),
                short: p.doc.short_name.clone(),
                key,
                objectives: (1..=3u8)
                    .map(|n| {
                        objectives
                            .get(&(p.doc.id.as_str(), n))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect(),
                streams: streams_out,
            });
        }
        if practices_out.is_empty() {
            return Err(Error::at(
                &f.file,
                f.line,
                1,
                format!("business function {} has no practices", f.doc.name),
            ));
        }
        out.push(Function {
            id: f.doc.id.clone(),
            name: f.doc.name.clone(),
            letter,
            practices: practices_out,
        });
    }
    if out.is_empty() {
        return Err(Error::file(&root, "no business functions"));
    }
    let (version, version_declared) = match declared_version(&root) {
        Some(v) => (v, true),
        None => {
            r.hashed.sort();
            let parts: Vec<&[u8]> = r
                .hashed
                .iter()
                .flat_map(|(n, b)| [n.as_bytes(), b.as_slice()])
                .collect();
            (source::content_version(parts), false)
        }
    };
    Ok(Model {
        dir: root,
        version,
        version_declared,
        functions: out,
    })
}

/// A `VERSION` file in the model directory or its parent (a release's first line).
fn declared_version(root: &Path) -> Option<String> {
    [root.join("VERSION"), root.join("../VERSION")]
        .iter()
        .find_map(|p| source::read_text(p, 1024).ok())
        .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
        .filter(|v| !v.is_empty())
}

impl Model {
    pub fn practices(&self) -> impl Iterator<Item = (&Function, &Practice)> {
        self.functions
            .iter()
            .flat_map(|f| f.practices.iter().map(move |p| (f, p)))
    }

    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.practices()
            .flat_map(|(_, p)| p.streams.iter())
            .flat_map(|s| s.levels.iter())
            .flat_map(|l| l.questions.iter())
    }

    /// Every question's key: the items an answers file lists.
    pub fn ids(&self) -> BTreeSet<String> {
        self.questions().map(|q| q.key.clone()).collect()
    }

    /// A practice by key (`G-SM`), short name (`SM`) or name, case-insensitively.
    pub fn practice(&self, name: &str) -> Option<&Practice> {
        let n = name.to_lowercase();
        self.practices().map(|(_, p)| p).find(|p| {
            p.key.to_lowercase() == n || p.short.to_lowercase() == n || p.name.to_lowercase() == n
        })
    }

    /// The answer values of an assessment, checked: every answer is one of its question's
    /// answers (by value or by text). Ids the model does not have are errors unless
    /// `allow_unknown` (answers made against another version), when they are left out.
    pub fn values(
        &self,
        a: &Assessment,
        allow_unknown: bool,
    ) -> Result<BTreeMap<String, f64>, Error> {
        let by_key: BTreeMap<&str, &Question> =
            self.questions().map(|q| (q.key.as_str(), q)).collect();
        let mut out = BTreeMap::new();
        for (id, ans) in &a.answers {
            let Some(q) = by_key.get(id.as_str()) else {
                if allow_unknown {
                    continue;
                }
                let hint = answers::suggest(id, by_key.keys().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(a.error_at(
                    id,
                    format!("`{id}` is not a question of this SAMM model{hint}"),
                ));
            };
            let allowed = || {
                q.choices
                    .iter()
                    .map(|c| format!("{} ({})", fmt_value(c.value), c.text))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let v = match &ans.given {
                Given::Nothing => continue,
                Given::Number(n) => q
                    .choices
                    .iter()
                    .find(|c| (c.value - n).abs() < 1e-9)
                    .map(|c| c.value),
                Given::Text(t) => {
                    let t = t.trim();
                    q.choices
                        .iter()
                        .find(|c| c.text.eq_ignore_ascii_case(t))
                        .or_else(|| {
                            t.parse::<f64>()
                                .ok()
                                .and_then(|n| q.choices.iter().find(|c| (c.value - n).abs() < 1e-9))
                        })
                        .map(|c| c.value)
                }
                Given::Levels(_) => None,
            };
            match v {
                Some(v) => {
                    out.insert(id.clone(), v);
                }
                None => {
                    return Err(a.error_at(
                        id,
                        format!("`{id}`: not one of this question's answers: {}", allowed()),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Scores of checked answer values, as the toolbox computes them.
    pub fn score(&self, values: &BTreeMap<String, f64>) -> Scores {
        let value = |q: &Question| values.get(&q.key).copied().unwrap_or(0.0);
        let mut functions = Vec::new();
        for f in &self.functions {
            let mut practices = Vec::new();
            for p in &f.practices {
                let streams: Vec<StreamScore> = p
                    .streams
                    .iter()
                    .map(|s| {
                        let levels: Vec<f64> = s
                            .levels
                            .iter()
                            .map(|l| mean(l.questions.iter().map(value)))
                            .collect();
                        StreamScore {
                            letter: s.letter.clone(),
                            name: s.name.clone(),
                            score: levels.iter().sum(),
                            levels,
                        }
                    })
                    .collect();
                let levels: Vec<f64> = (0..3)
                    .map(|i| {
                        mean(
                            streams
                                .iter()
                                .map(|s| s.levels.get(i).copied().unwrap_or(0.0)),
                        )
                    })
                    .collect();
                practices.push(PracticeScore {
                    key: p.key.clone(),
                    name: p.name.clone(),
                    score: levels.iter().sum(),
                    levels,
                    streams,
                });
            }
            functions.push(FunctionScore {
                name: f.name.clone(),
                score: mean(practices.iter().map(|p| p.score)),
                practices,
            });
        }
        let total = self.questions().count();
        let answered = self
            .questions()
            .filter(|q| values.contains_key(&q.key))
            .count();
        Scores {
            overall: mean(functions.iter().map(|f| f.score)),
            functions,
            answered,
            questions: total,
        }
    }

    /// An answers template: every question with its text, quality criteria and answers as
    /// comments, each answer `~`.
    pub fn template(&self, date: &str, team: Option<&str>) -> String {
        let mut out = answers::template_head(Kind::Samm, &self.version, date, team);
        out.push_str("    # Each answer: the value (0, 0.25, 0.5 or 1 as listed) or the answer's text.\n    answers:\n");
        for (f, p) in self.practices() {
            out.push('\n');
            out.push_str(&answers::comment(
                "      ",
                &format!("── {} › {} ({}) ──", f.name, p.name, p.key),
            ));
            for s in &p.streams {
                for l in &s.levels {
                    for q in &l.questions {
                        out.push_str(&answers::comment(
                            "      ",
                            &format!(
                                "Stream {} ({}), level {}: {}",
                                s.letter, s.name, l.number, l.activity.title
                            ),
                        ));
                        out.push_str(&answers::comment("      ", &format!("Q: {}", q.text)));
                        for c in &q.quality {
                            out.push_str(&answers::comment("      ", &format!("  - {c}")));
                        }
                        let choices = q
                            .choices
                            .iter()
                            .map(|c| format!("{} = {}", fmt_value(c.value), c.text))
                            .collect::<Vec<_>>()
                            .join(" | ");
                        out.push_str(&answers::comment("      ", &format!("Answers: {choices}")));
                        out.push_str(&format!("      {}: ~\n", q.key));
                    }
                }
            }
        }
        out
    }

    /// A roadmap from the current answers to a target score per practice (practices not in
    /// `targets` keep their score), in `phases` phases.
    pub fn roadmap(
        &self,
        values: &BTreeMap<String, f64>,
        targets: &BTreeMap<String, f64>,
        phases: u32,
    ) -> Roadmap {
        let phases = phases.max(1);
        let scores = self.score(values);
        let mut plans = Vec::new();
        for ((f, p), ps) in self
            .practices()
            .zip(scores.functions.iter().flat_map(|f| f.practices.iter()))
        {
            let Some(&target) = targets.get(&p.key) else {
                continue;
            };
            let current = ps.score;
            let mut steps = Vec::new();
            if target > current + 1e-9 {
                // SAMM's order: level by level, stream A before B.
                let mut order = Vec::new();
                for n in 0..3 {
                    for s in &p.streams {
                        if let Some(l) = s.levels.get(n) {
                            for q in &l.questions {
                                order.push((s, l, q));
                            }
                        }
                    }
                }
                let nstreams = p.streams.len() as f64;
                let mut reached = current;
                for (s, l, q) in order {
                    if reached >= target - 1e-9 {
                        break;
                    }
                    let from = values.get(&q.key).copied().unwrap_or(0.0);
                    // One question's share of the practice score.
                    let share = 1.0 / (nstreams * l.questions.len() as f64);
                    let best = q.choices.iter().map(|c| c.value).fold(0.0, f64::max);
                    if from >= best - 1e-9 {
                        continue;
                    }
                    let need = (target - reached) / share + from;
                    let to = q
                        .choices
                        .iter()
                        .map(|c| c.value)
                        .filter(|v| *v > from + 1e-9 && *v >= need - 1e-9)
                        .fold(f64::INFINITY, f64::min);
                    let to = if to.is_finite() { to } else { best };
                    let to_text = q
                        .choices
                        .iter()
                        .find(|c| (c.value - to).abs() < 1e-9)
                        .map(|c| c.text.clone())
                        .unwrap_or_default();
                    let before = reached;
                    reached += (to - from) * share;
                    steps.push(Step {
                        question: q.key.clone(),
                        stream: s.letter.clone(),
                        level: l.number,
                        activity: l.activity.title.clone(),
                        from,
                        to,
                        to_text,
                        score_before: before,
                        score_after: reached,
                        phase: 0,
                    });
                }
                for st in &mut steps {
                    st.phase = (1..=phases)
                        .find(|k| {
                            let interim =
                                current + (target - current) * f64::from(*k) / f64::from(phases);
                            st.score_before < interim - 1e-9
                        })
                        .unwrap_or(phases);
                }
            }
            let reached = steps.last().map(|s| s.score_after).unwrap_or(current);
            plans.push(PracticePlan {
                function: f.name.clone(),
                key: p.key.clone(),
                name: p.name.clone(),
                current,
                target,
                reached,
                steps,
            });
        }
        Roadmap {
            phases,
            practices: plans,
        }
    }
}

fn mean(it: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = it.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// `0.25`, `1` — answer values as people write them.
pub fn fmt_value(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamScore {
    pub letter: String,
    pub name: String,
    /// 0–3: the sum of its answers.
    pub score: f64,
    pub levels: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PracticeScore {
    pub key: String,
    pub name: String,
    /// 0–3.
    pub score: f64,
    /// Each maturity level's score (0–1): the streams' average at that level.
    pub levels: Vec<f64>,
    pub streams: Vec<StreamScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionScore {
    pub name: String,
    pub score: f64,
    pub practices: Vec<PracticeScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub overall: f64,
    pub functions: Vec<FunctionScore>,
    pub answered: usize,
    pub questions: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The question to raise (`D-TA-A-2`).
    pub question: String,
    pub stream: String,
    pub level: u8,
    /// The activity it measures (title from the model).
    pub activity: String,
    pub from: f64,
    pub to: f64,
    /// The answer to reach.
    pub to_text: String,
    pub score_before: f64,
    pub score_after: f64,
    /// 1-based.
    pub phase: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PracticePlan {
    pub function: String,
    pub key: String,
    pub name: String,
    pub current: f64,
    pub target: f64,
    /// What the steps reach (the target, unless it is above what the model allows).
    pub reached: f64,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roadmap {
    pub phases: u32,
    pub practices: Vec<PracticePlan>,
}

impl Roadmap {
    /// The steps of phase `k`, practice by practice.
    pub fn phase(&self, k: u32) -> Vec<(&PracticePlan, &Step)> {
        self.practices
            .iter()
            .flat_map(|p| {
                p.steps
                    .iter()
                    .filter(move |s| s.phase == k)
                    .map(move |s| (p, s))
            })
            .collect()
    }
}
