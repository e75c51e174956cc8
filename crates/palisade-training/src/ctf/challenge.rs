//! CTF challenges: one TOML file per challenge (`challenge.toml` in a directory with its
//! attachments, or `*.toml` files side by side), read with the line of every mistake.
//!
//! Static flags are stored hashed: `sha256 = hex(SHA-256(salt ‖ flag))` with a per-challenge
//! random `salt` (hex), the flag lower-cased first when it is not case-sensitive. An authoring
//! file may write `flag = "…"` in plain; such a file is refused by an event until
//! [`Challenge::hash_plain_flags`] (given salts by its caller) turned it into the stored form.
//! Regex flags cannot be hashed: a file with one is as secret as the answer.

use crate::scenario::valid_id;
use crate::yaml::LocatedError;
use regex::RegexBuilder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Most bytes a submitted flag may have.
pub const MAX_SUBMISSION_BYTES: usize = 1024;
/// Longest regex pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1000;
/// Most memory a compiled regex flag may use (the `regex` crate's size limits).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Largest challenge file.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// How a dynamic challenge's value falls with its solves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// `initial − decay × (solves − 1)`.
    Linear,
    /// CTFd's "logarithmic" (a parabola): `initial + (minimum − initial) / decay² × (solves − 1)²`.
    Logarithmic,
}

/// What a challenge is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    Static {
        value: u32,
    },
    Dynamic {
        initial: u32,
        minimum: u32,
        decay: u32,
        function: Decay,
    },
}

/// A flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// A static flag, stored hashed.
    Hashed {
        salt: String,
        sha256: String,
        case_sensitive: bool,
    },
    /// A static flag written in plain (authoring files only).
    Plain { flag: String, case_sensitive: bool },
    /// A pattern the whole submission must match.
    Regex {
        pattern: String,
        case_sensitive: bool,
    },
}

/// A hint, unlocked for its cost in points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    pub text: String,
    #[serde(default)]
    pub cost: u32,
}

/// A challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub scoring: Scoring,
    /// Files handed to players, relative to the challenge file's directory.
    pub attachments: Vec<String>,
    pub hints: Vec<Hint>,
    /// Challenges that must be solved first (by id).
    pub prerequisites: Vec<String>,
    /// Most wrong answers an account may give (CTFd's `max_attempts`); `None`: unlimited.
    pub max_attempts: Option<u32>,
    pub flags: Vec<Flag>,
}

// ---- the file as written ----

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDynamic {
    initial: u32,
    minimum: u32,
    decay: u32,
    #[serde(default = "logarithmic")]
    function: Decay,
}
fn logarithmic() -> Decay {
    Decay::Logarithmic
}
fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlag {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pattern: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    case_sensitive: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChallenge {
    id: String,
    name: String,
    category: String,
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    prerequisites: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dynamic: Option<RawDynamic>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    hints: Vec<Hint>,
    #[serde(default)]
    flags: Vec<RawFlag>,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

/// The line of the first `key = …` (or `[key]`/`[[key]]`) written, for errors found after
/// parsing; `nth` picks the nth occurrence (array entries).
fn key_line(text: &str, key: &str, nth: usize) -> (usize, usize) {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            let bare = t.trim_start_matches('[').trim_end().trim_end_matches(']');
            bare == key
                || t.strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .nth(nth)
        .map(|(i, l)| (i + 1, l.len() - l.trim_start().len() + 1))
        .unwrap_or((1, 1))
}

/// Check a regex flag's pattern: it compiles within the size limits.
pub fn compile_pattern(pattern: &str, case_sensitive: bool) -> Result<regex::Regex, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "the pattern is longer than {MAX_PATTERN_BYTES} bytes"
        ));
    }
    RegexBuilder::new(&format!(r"\A(?:{pattern})\z"))
        .case_insensitive(!case_sensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| format!("the pattern is not a usable regex: {e}"))
}

/// `hex(SHA-256(salt ‖ flag))`, the flag lower-cased first unless case-sensitive.
pub fn hash_flag(salt: &[u8], flag: &str, case_sensitive: bool) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    if case_sensitive {
        h.update(flag.as_bytes());
    } else {
        h.update(flag.to_lowercase().as_bytes());
    }
    hex::encode(h.finalize())
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A relative path inside the challenge's directory.
fn safe_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && !p.contains('\\')
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

impl Challenge {
    /// Parse a challenge file; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Challenge, Vec<LocatedError>> {
        let located = |(line, column): (usize, usize), path: &str, message: String| LocatedError {
            file: file.to_string(),
            line,
            column,
            path: path.to_string(),
            message,
        };
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(vec![located(
                (1, 1),
                "",
                format!("a challenge file may be at most {MAX_FILE_BYTES} bytes"),
            )]);
        }
        let de = toml::de::Deserializer::parse(text).map_err(|e| {
            vec![located(
                e.span().map_or((1, 1), |s| line_col(text, s.start)),
                "",
                e.message().to_string(),
            )]
        })?;
        let raw: RawChallenge = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            vec![located(
                inner.span().map_or((1, 1), |s| line_col(text, s.start)),
                if path == "." { "" } else { &path },
                inner.message().to_string(),
            )]
        })?;
        let mut errors = Vec::new();
        let mut err = |key: &str, nth: usize, path: &str, message: String| {
            errors.push(located(key_line(text, key, nth), path, message));
        };
        if !valid_id(&raw.id) {
            err(
                "id",
                0,
                "id",
                format!(
                    "{:?} is not an id: use 1–64 of a-z, 0-9, '-', '_', '.', starting with a letter or digit",
                    raw.id
                ),
            );
        }
        for (key, v, max) in [
            ("name", &raw.name, 80),
            ("category", &raw.category, 40),
            ("description", &raw.description, 20_000),
        ] {
            if v.trim().is_empty() || v.chars().count() > max {
                err(key, 0, key, format!("must be 1–{max} characters"));
            }
        }
        let scoring = match (raw.value, &raw.dynamic) {
            (Some(value), None) => {
                if value > 100_000 {
                    err("value", 0, "value", "a value is at most 100000".into());
                }
                Scoring::Static { value }
            }
            (None, Some(d)) => {
                if d.initial == 0 || d.initial > 100_000 {
                    err("initial", 0, "dynamic.initial", "1 to 100000 points".into());
                }
                if d.minimum > d.initial {
                    err(
                        "minimum",
                        0,
                        "dynamic.minimum",
                        format!(
                            "the minimum ({}) is more than the initial value ({})",
                            d.minimum, d.initial
                        ),
                    );
                }
                if d.decay > 100_000 {
                    err(
                        "decay",
                        0,
                        "dynamic.decay",
                        "decay is at most 100000".into(),
                    );
                }
                Scoring::Dynamic {
                    initial: d.initial,
                    minimum: d.minimum,
                    decay: d.decay,
                    function: d.function,
                }
            }
            (Some(_), Some(_)) => {
                err(
                    "dynamic",
                    0,
                    "dynamic",
                    "a challenge has either `value` (static) or `[dynamic]`, not both".into(),
                );
                Scoring::Static { value: 0 }
            }
            (None, None) => {
                err(
                    "id",
                    0,
                    "",
                    "give the challenge a `value` or a `[dynamic]` table".into(),
                );
                Scoring::Static { value: 0 }
            }
        };
        for (i, a) in raw.attachments.iter().enumerate() {
            if !safe_relative(a) {
                err(
                    "attachments",
                    0,
                    &format!("attachments[{i}]"),
                    format!("{a:?} is not a relative path inside the challenge's directory"),
                );
            }
        }
        for (i, p) in raw.prerequisites.iter().enumerate() {
            if !valid_id(p) || *p == raw.id {
                err(
                    "prerequisites",
                    0,
                    &format!("prerequisites[{i}]"),
                    format!("{p:?} is not another challenge's id"),
                );
            }
        }
        if raw.hints.len() > 20 {
            err("hints", 0, "hints", "at most 20 hints".into());
        }
        for (i, h) in raw.hints.iter().enumerate() {
            if h.text.trim().is_empty() || h.text.len() > 5_000 {
                err(
                    "hints",
                    i,
                    &format!("hints[{i}].text"),
                    "1–5000 bytes of text".into(),
                );
            }
            if h.cost > 100_000 {
                err(
                    "hints",
                    i,
                    &format!("hints[{i}].cost"),
                    "at most 100000 points".into(),
                );
            }
        }
        if raw.flags.is_empty() || raw.flags.len() > 20 {
            err("flags", 0, "flags", "a challenge has 1 to 20 flags".into());
        }
        let mut flags = Vec::new();
        for (i, f) in raw.flags.into_iter().enumerate() {
            let path = format!("flags[{i}]");
            let mut fail = |m: String| err("flags", i, &path, m);
            match f.kind.as_str() {
                "static" => match (f.flag, f.salt, f.sha256, f.pattern) {
                    (Some(flag), None, None, None) => {
                        if flag.trim().is_empty() || flag.len() > MAX_SUBMISSION_BYTES {
                            fail(format!("a flag is 1–{MAX_SUBMISSION_BYTES} bytes"));
                        } else if flag.trim() != flag {
                            fail("a flag has no leading or trailing spaces (submissions are trimmed)".into());
                        }
                        flags.push(Flag::Plain {
                            flag,
                            case_sensitive: f.case_sensitive,
                        });
                    }
                    (None, Some(salt), Some(sha256), None) => {
                        if !is_hex(&salt) || !(16..=128).contains(&salt.len()) {
                            fail("`salt` is 8 to 64 bytes written in hex".into());
                        }
                        if !(is_hex(&sha256) && sha256.len() == 64) {
                            fail("`sha256` is 64 hex digits".into());
                        }
                        flags.push(Flag::Hashed {
                            salt: salt.to_ascii_lowercase(),
                            sha256: sha256.to_ascii_lowercase(),
                            case_sensitive: f.case_sensitive,
                        });
                    }
                    _ => fail(
                        "a static flag has `salt` and `sha256` (stored), or `flag` (authoring), and nothing else"
                            .into(),
                    ),
                },
                "regex" => match (f.pattern, f.flag, f.salt, f.sha256) {
                    (Some(pattern), None, None, None) => {
                        if let Err(e) = compile_pattern(&pattern, f.case_sensitive) {
                            fail(e);
                        }
                        flags.push(Flag::Regex {
                            pattern,
                            case_sensitive: f.case_sensitive,
                        });
                    }
                    _ => fail("a regex flag has a `pattern` and nothing else".into()),
                },
                other => fail(format!("flag type {other:?} is not known: static or regex")),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Challenge {
            id: raw.id,
            name: raw.name,
            category: raw.category,
            description: raw.description,
            scoring,
            attachments: raw.attachments,
            hints: raw.hints,
            prerequisites: raw.prerequisites,
            max_attempts: raw.max_attempts.filter(|n| *n > 0),
            flags,
        })
    }

    /// The challenge in its file format (plain flags stay plain: hash them first).
    pub fn to_toml(&self) -> String {
        let (value, dynamic) = match self.scoring {
            Scoring::Static { value } => (Some(value), None),
            Scoring::Dynamic {
                initial,
                minimum,
                decay,
                function,
            } => (
                None,
                Some(RawDynamic {
                    initial,
                    minimum,
                    decay,
                    function,
                }),
            ),
        };
        let flags = self
            .flags
            .iter()
            .map(|f| {
                let mut r = RawFlag {
                    kind: "static".into(),
                    flag: None,
                    salt: None,
                    sha256: None,
                    pattern: None,
                    case_sensitive: true,
                };
                match f {
                    Flag::Hashed {
                        salt,
                        sha256,
                        case_sensitive,
                    } => {
                        r.salt = Some(salt.clone());
                        r.sha256 = Some(sha256.clone());
                        r.case_sensitive = *case_sensitive;
                    }
                    Flag::Plain {
                        flag,
                        case_sensitive,
                    } => {
                        r.flag = Some(flag.clone());
                        r.case_sensitive = *case_sensitive;
                    }
                    Flag::Regex {
                        pattern,
                        case_sensitive,
                    } => {
                        r.kind = "regex".into();
                        r.pattern = Some(pattern.clone());
                        r.case_sensitive = *case_sensitive;
                    }
                }
                r
            })
            .collect();
        let raw = RawChallenge {
            id: self.id.clone(),
            name: self.name.clone(),
            category: self.category.clone(),
            description: self.description.clone(),
            value,
            attachments: self.attachments.clone(),
            prerequisites: self.prerequisites.clone(),
            max_attempts: self.max_attempts,
            dynamic,
            hints: self.hints.clone(),
            flags,
        };
        toml::to_string_pretty(&raw).unwrap_or_default()
    }

    /// Whether any static flag is still written in plain.
    pub fn has_plain_flags(&self) -> bool {
        self.flags.iter().any(|f| matches!(f, Flag::Plain { .. }))
    }

    /// Hash every plain static flag with `salt` (16 random bytes or more; one per challenge is
    /// enough, the caller draws it).
    pub fn hash_plain_flags(&mut self, salt: &[u8]) {
        for f in &mut self.flags {
            if let Flag::Plain {
                flag,
                case_sensitive,
            } = f
            {
                *f = Flag::Hashed {
                    salt: hex::encode(salt),
                    sha256: hash_flag(salt, flag, *case_sensitive),
                    case_sensitive: *case_sensitive,
                };
            }
        }
    }

    /// Whether `submitted` (trimmed of surrounding whitespace) is one of the flags.
    pub fn check_flag(&self, submitted: &str) -> bool {
        let s = submitted.trim();
        if s.is_empty() || s.len() > MAX_SUBMISSION_BYTES {
            return false;
        }
        self.flags.iter().any(|f| match f {
            Flag::Hashed {
                salt,
                sha256,
                case_sensitive,
            } => {
                let Ok(salt) = hex::decode(salt) else {
                    return false;
                };
                constant_time_eq(
                    hash_flag(&salt, s, *case_sensitive).as_bytes(),
                    sha256.as_bytes(),
                )
            }
            Flag::Plain {
                flag,
                case_sensitive,
            } => {
                if *case_sensitive {
                    constant_time_eq(flag.as_bytes(), s.as_bytes())
                } else {
                    constant_time_eq(flag.to_lowercase().as_bytes(), s.to_lowercase().as_bytes())
                }
            }
            Flag::Regex {
                pattern,
                case_sensitive,
            } => compile_pattern(pattern, *case_sensitive).is_ok_and(|re| re.is_match(s)),
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What is wrong with a set of challenges together: ids used twice, prerequisites that do
/// not exist, prerequisites in a cycle.
pub fn check_set(challenges: &[Challenge]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut ids = BTreeSet::new();
    for c in challenges {
        if !ids.insert(c.id.as_str()) {
            errors.push(format!("challenge id {:?} is used twice", c.id));
        }
    }
    for c in challenges {
        for p in &c.prerequisites {
            if !ids.contains(p.as_str()) {
                errors.push(format!(
                    "challenge {:?} needs {p:?} solved first, and there is no such challenge",
                    c.id
                ));
            }
        }
    }
    let by_id: BTreeMap<&str, &Challenge> = challenges.iter().map(|c| (c.id.as_str(), c)).collect();
    fn visit<'a>(
        id: &'a str,
        by_id: &BTreeMap<&'a str, &'a Challenge>,
        state: &mut BTreeMap<&'a str, u8>,
    ) -> Option<&'a str> {
        match state.get(id) {
            Some(1) => return Some(id),
            Some(2) => return None,
            _ => {}
        }
        state.insert(id, 1);
        if let Some(c) = by_id.get(id) {
            for p in &c.prerequisites {
                if let Some(cyc) = visit(p.as_str(), by_id, state) {
                    return Some(cyc);
                }
            }
        }
        state.insert(id, 2);
        None
    }
    let mut state = BTreeMap::new();
    for c in challenges {
        if let Some(cyc) = visit(c.id.as_str(), &by_id, &mut state) {
            errors.push(format!(
                "prerequisites form a cycle through challenge {cyc:?}: none of them could be opened"
            ));
            break;
        }
    }
    errors
}

/// A challenge read from a directory, with the directory its attachments are relative to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub challenge: Challenge,
    pub file: PathBuf,
    pub dir: PathBuf,
}

/// Read a directory of challenges: every `*.toml` in it and every `*/challenge.toml` one level
/// down, in name order. Attachments must exist. Every error found is returned.
pub fn load_dir(dir: &Path) -> Result<Vec<Loaded>, Vec<LocatedError>> {
    let whole = |file: &Path, message: String| LocatedError {
        file: file.display().to_string(),
        line: 1,
        column: 1,
        path: String::new(),
        message,
    };
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| vec![whole(dir, format!("cannot read: {e}"))])?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            let f = p.join("challenge.toml");
            if f.is_file() {
                files.push(f);
            }
        } else if p.extension().is_some_and(|e| e == "toml") {
            files.push(p);
        }
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let text = match std::fs::metadata(&f) {
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                errors.push(whole(&f, format!("larger than {MAX_FILE_BYTES} bytes")));
                continue;
            }
            _ => match std::fs::read_to_string(&f) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(whole(&f, format!("cannot read: {e}")));
                    continue;
                }
            },
        };
        match Challenge::from_toml(&f.display().to_string(), &text) {
            Ok(c) => {
                let base = f.parent().unwrap_or(dir).to_path_buf();
                for a in &c.attachments {
                    if !base.join(a).is_file() {
                        let (line, column) = key_line(&text, "attachments", 0);
                        errors.push(LocatedError {
                            file: f.display().to_string(),
                            line,
                            column,
                            path: "attachments".into(),
                            message: format!(
                                "attachment {a:?} is not a file next to the challenge"
                            ),
                        });
                    }
                }
                out.push(Loaded {
                    challenge: c,
                    file: f,
                    dir: base,
                });
            }
            Err(e) => errors.extend(e),
        }
    }
    let set: Vec<Challenge> = out.iter().map(|l| l.challenge.clone()).collect();
    for m in check_set(&set) {
        errors.push(whole(dir, m));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
