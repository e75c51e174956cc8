//! Answers files: the assessments a team made against one model, kept as YAML beside the code
//! (reviewed in pull requests, like threat models).
//!
//! ```yaml
//! format: 1
//! model: { kind: samm, version: "sha256:0123456789abcdef" }
//! organisation: Example Corp        # optional
//! assessments:
//!   - date: 2026-03-01
//!     team: payments                # optional; files may hold several teams
//!     by: alice                     # optional: who answered
//!     tier: { current: 2, target: 3 }   # NIST CSF only: organisational tiers
//!     answers:
//!       G-SM-A-1: 0.5               # SAMM: the value, or the answer's text
//!       f6f7737f-…: implemented     # DSOMM/BSIMM: a status
//!       GV.OC-01: { current: 1, target: 3 }   # CSF: levels 0–4
//!       G-SM-B-1:                   # any answer may be written in full
//!         value: 1
//!         note: "reviewed with the CISO"
//!         evidence: ["https://wiki.example/strategy"]
//!         confirmed_by: bob
//!         confirmed_at: 2026-03-02
//! ```
//!
//! An unanswered item is `~` (null). The keys of an assessment's `answers` are the items of the
//! model it was made against (a template lists them all), which is how a later model version's
//! added and removed items are found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::source::{self, Positions, locate};

/// The format version this crate reads and writes.
pub const FORMAT: u64 = 1;
/// Largest answers file read.
pub const MAX_ANSWERS_BYTES: u64 = 8 * 1024 * 1024;

/// The model families Palisade assesses against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// OWASP SAMM v2.
    Samm,
    /// OWASP DevSecOps Maturity Model.
    Dsomm,
    /// NIST Cybersecurity Framework 2.0.
    Csf,
    /// BSIMM, from an activity file the user provides.
    Bsimm,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Samm, Kind::Dsomm, Kind::Csf, Kind::Bsimm];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Samm => "samm",
            Kind::Dsomm => "dsomm",
            Kind::Csf => "csf",
            Kind::Bsimm => "bsimm",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Samm => "OWASP SAMM",
            Kind::Dsomm => "OWASP DevSecOps Maturity Model (DSOMM)",
            Kind::Csf => "NIST Cybersecurity Framework 2.0",
            Kind::Bsimm => "BSIMM (user-provided activity list)",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The model an answers file was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub kind: Kind,
    pub version: String,
}

/// A link supporting an answer (a later version fills these from Palisade's own record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A level pair: where an item (or the organisation's tier) is and where it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Levels {
    pub current: Option<u8>,
    pub target: Option<u8>,
}

/// An answer as written, before a model gives it meaning.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Given {
    /// `~`: not answered yet.
    Nothing,
    Number(f64),
    Text(String),
    Levels(Levels),
}

/// One answer with what may accompany it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub given: Given,
    /// When the answer became true (for a DSOMM status: when it was reached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Who gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Who confirmed the answer (a reviewer, or later Palisade's own record), and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
    #[serde(skip)]
    pub line: usize,
    #[serde(skip)]
    pub column: usize,
}

/// One dated assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// NIST CSF: the organisation's implementation tier, current and target (1–4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Levels>,
    pub answers: BTreeMap<String, Answer>,
    #[serde(skip)]
    pub file: PathBuf,
    #[serde(skip)]
    pub line: usize,
}

impl Assessment {
    /// The answer given for `id`, if any (null answers are `Given::Nothing`).
    pub fn given(&self, id: &str) -> Option<&Answer> {
        self.answers.get(id).filter(|a| a.given != Given::Nothing)
    }

    /// An error at the answer for `id` (or at the assessment when it has none).
    pub fn error_at(&self, id: &str, message: impl Into<String>) -> Error {
        match self.answers.get(id) {
            Some(a) => Error::at(&self.file, a.line, a.column, message),
            None => Error::at(&self.file, self.line, 1, message),
        }
    }

    /// `date` and `team`, for messages.
    pub fn label(&self) -> String {
        match &self.team {
            Some(t) => format!("{} ({t})", self.date),
            None => self.date.clone(),
        }
    }
}

/// An answers file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswersFile {
    #[serde(skip)]
    pub path: PathBuf,
    pub model: ModelRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    pub assessments: Vec<Assessment>,
    #[serde(skip)]
    pub model_line: usize,
}

impl AnswersFile {
    /// Every item id any assessment lists (answered or not).
    pub fn listed_ids(&self) -> BTreeSet<&str> {
        self.assessments
            .iter()
            .flat_map(|a| a.answers.keys().map(String::as_str))
            .collect()
    }
}

/// Read an answers file.
pub fn load(path: &Path) -> Result<AnswersFile, Error> {
    let text = source::read_text(path, MAX_ANSWERS_BYTES)?;
    parse(path, &text)
}

/// Parse an answers file's text (`path` names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<AnswersFile, Error> {
    let (root, pos) = source::yaml_document(path, text)?;
    let p = Parser { path, pos: &pos };
    let Value::Object(top) = &root else {
        return Err(p.err(
            "",
            "an answers file is a mapping (`format:`, `model:`, `assessments:`)",
        ));
    };
    for k in top.keys() {
        if !["format", "model", "organisation", "assessments"].contains(&k.as_str()) {
            return Err(p.err(
                k,
                format!("unknown key `{k}`; an answers file has format, model, organisation and assessments"),
            ));
        }
    }
    match top.get("format") {
        Some(Value::Number(n)) if n.as_u64() == Some(FORMAT) => {}
        Some(v) => {
            return Err(p.err(
                "format",
                format!("format {v} is not known; this Palisade reads format {FORMAT}"),
            ));
        }
        None => return Err(p.err("", "`format: 1` is missing (is this an answers file?)")),
    }
    let model_v = top.get("model").ok_or_else(|| {
        p.err(
            "",
            "`model:` is missing: `model: { kind: samm, version: \"…\" }`",
        )
    })?;
    let model: ModelRef = source::deserialize(path, model_v.clone(), &prefixed(&pos, "model"))?;
    if model.version.trim().is_empty() {
        return Err(p.err("model.version", "the model version is empty"));
    }
    let organisation = p.opt_text(top.get("organisation"), "organisation")?;
    let mut assessments = Vec::new();
    match top.get("assessments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                assessments.push(p.assessment(item, &format!("assessments[{i}]"))?);
            }
        }
        Some(_) => return Err(p.err("assessments", "`assessments` is a list")),
    }
    Ok(AnswersFile {
        path: path.to_path_buf(),
        model,
        organisation,
        assessments,
        model_line: locate(&pos, "model").0,
    })
}

/// Positions under `prefix`, re-rooted (so a sub-document deserialises with its lines).
fn prefixed(pos: &Positions, prefix: &str) -> Positions {
    pos.iter()
        .filter_map(|(k, v)| {
            if k == prefix {
                Some((String::new(), *v))
            } else {
                k.strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix('.'))
                    .map(|r| (r.to_string(), *v))
            }
        })
        .collect()
}

struct Parser<'a> {
    path: &'a Path,
    pos: &'a Positions,
}

impl Parser<'_> {
    fn err(&self, at: &str, message: impl Into<String>) -> Error {
        let (l, c) = locate(self.pos, at);
        let message = message.into();
        Error::at(self.path, l, c, message)
    }

    fn opt_text(&self, v: Option<&Value>, at: &str) -> Result<Option<String>, Error> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.err(at, format!("`{}` is text", last(at)))),
        }
    }

    fn opt_day(&self, v: Option<&Value>, at: &str) -> Result<Option<String>, Error> {
        match self.opt_text(v, at)? {
            None => Ok(None),
            Some(d) if source::valid_day(&d) => Ok(Some(d)),
            Some(d) => Err(self.err(at, format!("`{d}` is not a date (YYYY-MM-DD)"))),
        }
    }

    fn levels(&self, v: &Value, at: &str) -> Result<Levels, Error> {
        let Value::Object(m) = v else {
            return Err(self.err(at, "levels are `{ current: N, target: N }`"));
        };
        let mut out = Levels::default();
        for (k, x) in m {
            let slot = match k.as_str() {
                "current" => &mut out.current,
                "target" => &mut out.target,
                _ => {
                    return Err(self.err(
                        &format!("{at}.{k}"),
                        format!("unknown key `{k}`; levels have current and target"),
                    ));
                }
            };
            *slot = match x {
                Value::Null => None,
                Value::Number(n) => match n.as_u64().and_then(|n| u8::try_from(n).ok()) {
                    Some(n) => Some(n),
                    None => {
                        return Err(self.err(
                            &format!("{at}.{k}"),
                            format!("`{n}` is not a level (a whole number)"),
                        ));
                    }
                },
                _ => {
                    return Err(self.err(
                        &format!("{at}.{k}"),
                        "a level is a whole number (or `~` when not assessed)",
                    ));
                }
            };
        }
        Ok(out)
    }

    fn assessment(&self, v: &Value, at: &str) -> Result<Assessment, Error> {
        let Value::Object(m) = v else {
            return Err(self.err(at, "an assessment is a mapping (`date:`, `answers:` …)"));
        };
        for k in m.keys() {
            if !["date", "team", "by", "notes", "tier", "answers"].contains(&k.as_str()) {
                return Err(self.err(
                    &format!("{at}.{k}"),
                    format!("unknown key `{k}`; an assessment has date, team, by, notes, tier and answers"),
                ));
            }
        }
        let date = self
            .opt_day(m.get("date"), &format!("{at}.date"))?
            .ok_or_else(|| self.err(at, "the assessment has no `date:` (YYYY-MM-DD)"))?;
        let tier = match m.get("tier") {
            None | Some(Value::Null) => None,
            Some(t) => Some(self.levels(t, &format!("{at}.tier"))?),
        };
        let mut answers = BTreeMap::new();
        match m.get("answers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(items)) => {
                for (id, a) in items {
                    let path = format!("{at}.answers.{id}");
                    answers.insert(id.clone(), self.answer(a, &path)?);
                }
            }
            Some(_) => {
                return Err(self.err(
                    &format!("{at}.answers"),
                    "`answers` maps each item's id to its answer",
                ));
            }
        }
        Ok(Assessment {
            date,
            team: self.opt_text(m.get("team"), &format!("{at}.team"))?,
            by: self.opt_text(m.get("by"), &format!("{at}.by"))?,
            notes: self.opt_text(m.get("notes"), &format!("{at}.notes"))?,
            tier,
            answers,
            file: self.path.to_path_buf(),
            line: locate(self.pos, at).0,
        })
    }

    fn given(&self, v: &Value, at: &str) -> Result<Given, Error> {
        Ok(match v {
            Value::Null => Given::Nothing,
            Value::Number(n) => Given::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Given::Text(s.clone()),
            Value::Bool(b) => Given::Text(if *b { "yes" } else { "no" }.into()),
            Value::Object(_) => Given::Levels(self.levels(v, at)?),
            Value::Array(_) => return Err(self.err(at, "an answer is a value, not a list")),
        })
    }

    fn answer(&self, v: &Value, at: &str) -> Result<Answer, Error> {
        let (line, column) = locate(self.pos, at);
        let mut a = Answer {
            given: Given::Nothing,
            date: None,
            by: None,
            note: None,
            evidence: Vec::new(),
            confirmed_by: None,
            confirmed_at: None,
            line,
            column,
        };
        let full = match v {
            Value::Object(m)
                if m.keys()
                    .any(|k| !["current", "target"].contains(&k.as_str())) =>
            {
                m
            }
            other => {
                a.given = self.given(other, at)?;
                return Ok(a);
            }
        };
        let mut levels: Option<Levels> = None;
        for (k, x) in full {
            let here = format!("{at}.{k}");
            match k.as_str() {
                "value" | "status" => a.given = self.given(x, &here)?,
                "current" | "target" => {
                    let l = levels.get_or_insert_with(Levels::default);
                    let one = self.levels(&serde_json::json!({ k.clone(): x }), &here)?;
                    if k == "current" {
                        l.current = one.current;
                    } else {
                        l.target = one.target;
                    }
                }
                "date" => a.date = self.opt_day(Some(x), &here)?,
                "by" => a.by = self.opt_text(Some(x), &here)?,
                "note" => a.note = self.opt_text(Some(x), &here)?,
                "confirmed_by" => a.confirmed_by = self.opt_text(Some(x), &here)?,
                "confirmed_at" => a.confirmed_at = self.opt_day(Some(x), &here)?,
                "evidence" => a.evidence = self.evidence(x, &here)?,
                _ => {
                    return Err(self.err(
                        &here,
                        format!("unknown key `{k}`; an answer may have value (or status, or current and target), date, by, note, evidence, confirmed_by, confirmed_at"),
                    ));
                }
            }
        }
        if let Some(l) = levels {
            if a.given != Given::Nothing {
                return Err(self.err(
                    at,
                    "an answer has either value/status or current/target, not both",
                ));
            }
            a.given = Given::Levels(l);
        }
        Ok(a)
    }

    fn evidence(&self, v: &Value, at: &str) -> Result<Vec<Evidence>, Error> {
        let items = match v {
            Value::Null => return Ok(Vec::new()),
            Value::Array(items) => items,
            _ => return Err(self.err(at, "`evidence` is a list of links")),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let here = format!("{at}[{i}]");
                match e {
                    Value::String(u) => Ok(Evidence {
                        url: u.clone(),
                        note: None,
                    }),
                    Value::Object(m) => {
                        let url = self
                            .opt_text(m.get("url"), &format!("{here}.url"))?
                            .ok_or_else(|| self.err(&here, "evidence needs a `url`"))?;
                        if let Some(k) = m.keys().find(|k| !["url", "note"].contains(&k.as_str())) {
                            return Err(self.err(
                                &format!("{here}.{k}"),
                                format!("unknown key `{k}`; evidence has url and note"),
                            ));
                        }
                        Ok(Evidence {
                            url,
                            note: self.opt_text(m.get("note"), &format!("{here}.note"))?,
                        })
                    }
                    _ => Err(self.err(&here, "evidence is a link, or `{ url: …, note: … }`")),
                }
            })
            .collect()
    }
}

fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// What changed between the model an answers file was made against and the one given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub file: PathBuf,
    pub kind: Kind,
    pub answered_version: String,
    pub model_version: String,
    /// Items of the model that the answers file does not list (new in the model).
    pub added: Vec<String>,
    /// Items the answers file lists that the model no longer has.
    pub removed: Vec<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: answers were made against {} {}, the model given is {}",
            self.file.display(),
            self.kind,
            self.answered_version,
            self.model_version
        )?;
        let list = |v: &[String]| {
            let mut s = v.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
            if v.len() > 20 {
                s.push_str(&format!(", … ({} more)", v.len() - 20));
            }
            s
        };
        if self.added.is_empty() && self.removed.is_empty() {
            write!(f, "; the same items are listed in both")?;
        }
        if !self.added.is_empty() {
            write!(
                f,
                "\n  added in the model ({}): {}",
                self.added.len(),
                list(&self.added)
            )?;
        }
        if !self.removed.is_empty() {
            write!(
                f,
                "\n  no longer in the model ({}): {}",
                self.removed.len(),
                list(&self.removed)
            )?;
        }
        Ok(())
    }
}

/// Check an answers file against a model of `kind` and `version` with `ids` as its items: an
/// error when the kinds differ, a [`Mismatch`] when the versions do.
pub fn compare(
    file: &AnswersFile,
    kind: Kind,
    version: &str,
    ids: &BTreeSet<String>,
) -> Result<Option<Mismatch>, Error> {
    if file.model.kind != kind {
        return Err(Error::at(
            &file.path,
            file.model_line,
            1,
            format!(
                "these answers are for a {} model, and the model given is {}",
                file.model.kind, kind
            ),
        ));
    }
    if file.model.version == version {
        return Ok(None);
    }
    let listed = file.listed_ids();
    Ok(Some(Mismatch {
        file: file.path.clone(),
        kind,
        answered_version: file.model.version.clone(),
        model_version: version.to_string(),
        added: ids
            .iter()
            .filter(|i| !listed.contains(i.as_str()))
            .cloned()
            .collect(),
        removed: listed
            .iter()
            .filter(|i| !ids.contains(**i))
            .map(|s| s.to_string())
            .collect(),
    }))
}

/// The assessments of several files, in date order (a stable sort: files and file order break
/// ties), optionally of one team only.
pub fn timeline<'a>(files: &'a [AnswersFile], team: Option<&str>) -> Vec<&'a Assessment> {
    let mut all: Vec<&Assessment> = files
        .iter()
        .flat_map(|f| f.assessments.iter())
        .filter(|a| team.is_none_or(|t| a.team.as_deref() == Some(t)))
        .collect();
    all.sort_by(|a, b| a.date.cmp(&b.date));
    all
}

/// The closest name to `wanted` among `names` (a typo's likely meaning), if close enough.
pub fn suggest<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = wanted.to_lowercase();
    names
        .into_iter()
        .map(|n| (strsim::levenshtein(&w, &n.to_lowercase()), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// The head of an answers template: format, model, and one assessment dated `date`.
pub fn template_head(kind: Kind, version: &str, date: &str, team: Option<&str>) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Palisade maturity answers: {}.\n# Generated from the model file you gave; fill in each answer and run\n#   palisade maturity assess --model MODEL --answers THIS_FILE\n# `~` means not answered yet. Any answer may also be written in full:\n#   ID: {{ {}: …, date: YYYY-MM-DD, by: NAME, note: \"…\", evidence: [\"https://…\"], confirmed_by: NAME, confirmed_at: YYYY-MM-DD }}\n# A new assessment (a later date) is another entry under `assessments:`; keep the old ones for history.\n",
        kind.title(),
        match kind {
            Kind::Samm => "value",
            Kind::Dsomm | Kind::Bsimm => "status",
            Kind::Csf => "current: N, target: N",
        }
    ));
    out.push_str(&format!(
        "format: {FORMAT}\nmodel:\n  kind: {kind}\n  version: {}\nassessments:\n  - date: {date}\n    team: {}\n    by: ~\n",
        yaml_string(version),
        team.map(yaml_string).unwrap_or_else(|| "~".into())
    ));
    out
}

/// A YAML double-quoted string.
pub fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `text` as YAML comment lines, each starting with `indent` and `# `; a model's text can never
/// end the comment (every kind of line break is a new comment line).
pub fn comment(indent: &str, text: &str) -> String {
    let mut out = String::new();
    for line in text.split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']) {
        let l = source::one_line(line);
        if l.is_empty() {
            continue;
        }
        out.push_str(indent);
        out.push_str("# ");
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<AnswersFile, Error> {
        parse(Path::new("answers.yaml"), s)
    }

    #[test]
    fn short_and_full_answers() {
        let f = parse_str(
            "format: 1\nmodel: {kind: csf, version: '1.2.0'}\nassessments:\n  - date: 2026-01-02\n    tier: {current: 2, target: 3}\n    answers:\n      GV.OC-01: {current: 1, target: 3}\n      GV.OC-02: {current: 2, target: 2, note: ok, evidence: [https://x, {url: https://y, note: z}], confirmed_by: bob, confirmed_at: 2026-01-03}\n      GV.OC-03: ~\n",
        )
        .unwrap();
        let a = &f.assessments[0];
        assert_eq!(
            a.tier,
            Some(Levels {
                current: Some(2),
                target: Some(3)
            })
        );
        assert_eq!(
            a.answers["GV.OC-01"].given,
            Given::Levels(Levels {
                current: Some(1),
                target: Some(3)
            })
        );
        let b = &a.answers["GV.OC-02"];
        assert_eq!(b.evidence.len(), 2);
        assert_eq!(b.confirmed_by.as_deref(), Some("bob"));
        assert_eq!(b.line, 8);
        assert_eq!(a.answers["GV.OC-03"].given, Given::Nothing);
        assert!(a.given("GV.OC-03").is_none());
    }

    #[test]
    fn errors_name_their_line() {
        for (text, line, needle) in [
            (
                "format: 2\nmodel: {kind: samm, version: x}\n",
                1,
                "format 2",
            ),
            (
                "format: 1\nmodel: {kind: sam, version: x}\n",
                2,
                "unknown variant",
            ),
            (
                "format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-02-30\n",
                4,
                "not a date",
            ),
            (
                "format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-02-03\n    answers:\n      X: {value: 1, colour: red}\n",
                6,
                "unknown key `colour`",
            ),
            (
                "format: 1\nmodel: {kind: samm, version: x}\nextra: 1\n",
                3,
                "unknown key `extra`",
            ),
            (
                "format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - answers: {}\n",
                4,
                "no `date:`",
            ),
        ] {
            let e = parse_str(text).unwrap_err();
            assert_eq!(e.line, Some(line), "{text}: {e}");
            assert!(e.message.contains(needle), "{e}");
        }
    }

    #[test]
    fn templates_comment_text_safely() {
        let c = comment("  ", "first\nsecond\r\nthird\u{2028}x: 1");
        assert_eq!(c, "  # first\n  # second\n  # third\n  # x: 1\n");
    }

    #[test]
    fn suggestions_find_typos() {
        assert_eq!(
            suggest("G-SM-A-l", ["G-SM-A-1", "G-SM-B-1"]),
            Some("G-SM-A-1")
        );
        assert_eq!(suggest("nothing-like", ["G-SM-A-1"]), None);
    }
}
