//! Import of CTFd exports. A CTFd export (Admin → Backup) is a zip holding one JSON file per
//! database table under `db/` (`{"count": n, "results": [rows], "meta": {}}`) and the uploaded
//! files under `uploads/`. What is read (see `docs/training.md` for the whole list):
//!
//! - `db/challenges.json`: `id`, `name`, `category`, `description`, `value`, `type`
//!   (`standard` or `dynamic`; other types are skipped and named), `state` (`hidden` ones are
//!   imported and named), `max_attempts`, `requirements.prerequisites` (challenge ids);
//! - `db/dynamic_challenge.json`: `initial`, `minimum`, `decay`, `function` (default
//!   `logarithmic`, as CTFd);
//! - `db/flags.json`: `static` flags (hashed on import with the salt given) and `regex` flags,
//!   `data = "case_insensitive"`; other flag types are skipped and named;
//! - `db/hints.json`: `content`, `cost`;
//! - `db/files.json` with the files under `uploads/`: a challenge's attachments.
//!
//! Not imported: users, teams, solves, submissions, awards, unlocks (an event starts empty),
//! tags, topics, pages, hint prerequisites and titles, `next_id`, `connection_info` (appended
//! to the description instead), solutions, brackets, configuration.

use super::challenge::{Challenge, Decay, Flag, Hint, Scoring, check_set};
use crate::scenario::valid_id;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

/// Largest export read, in bytes of the zip.
pub const MAX_ZIP_BYTES: usize = 512 * 1024 * 1024;
/// Largest member read out of it (a table or an upload).
pub const MAX_MEMBER_BYTES: u64 = 64 * 1024 * 1024;

/// A file attached to an imported challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    pub challenge: String,
    /// The file's name (its attachment path).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What an import gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub challenges: Vec<Challenge>,
    pub files: Vec<ImportedFile>,
    /// What was left out or changed, one line each.
    pub notes: Vec<String>,
}

/// Why an export cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CTFd export: {0}")]
pub struct ImportError(pub String);

fn rows(table: &str, text: &[u8]) -> Result<Vec<Value>, ImportError> {
    let v: Value = serde_json::from_slice(text)
        .map_err(|e| ImportError(format!("{table} is not JSON: {e}")))?;
    match v.get("results") {
        Some(Value::Array(a)) => Ok(a.clone()),
        _ => match v {
            // Some tools write the rows as a bare array.
            Value::Array(a) => Ok(a),
            _ => Err(ImportError(format!("{table} has no `results` array"))),
        },
    }
}

fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f.round() as i64),
        _ => None,
    }
}
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(String::from)
}
fn clamp(n: Option<i64>) -> u32 {
    n.unwrap_or(0).clamp(0, 100_000) as u32
}

/// A challenge id from a CTFd name: lower case, runs of other characters made `-`, unique.
fn slug(name: &str, taken: &mut BTreeSet<String>) -> String {
    let mut s = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let mut base: String = s.trim_end_matches('-').chars().take(56).collect();
    if base.is_empty() || !valid_id(&base) {
        base = "challenge".into();
    }
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
}

/// Import the tables of an export, given as (table name, JSON bytes), e.g. `("challenges",
/// …)`, and the uploads by their path under `uploads/`. `salt` gives each challenge's salt
/// (16 random bytes) for its static flags.
pub fn import_tables(
    tables: &BTreeMap<String, Vec<u8>>,
    uploads: &BTreeMap<String, Vec<u8>>,
    salt: &mut dyn FnMut() -> [u8; 16],
) -> Result<Imported, ImportError> {
    let get = |t: &str| -> Result<Vec<Value>, ImportError> {
        match tables.get(t) {
            Some(b) if !b.is_empty() => rows(t, b),
            _ => Ok(vec![]),
        }
    };
    let challenges_rows = match tables.get("challenges") {
        Some(b) => rows("challenges", b)?,
        None => return Err(ImportError("there is no db/challenges.json".into())),
    };
    let dynamic: BTreeMap<i64, Value> = get("dynamic_challenge")?
        .into_iter()
        .filter_map(|r| int(&r, "id").map(|id| (id, r)))
        .collect();
    let flags = get("flags")?;
    let hints = get("hints")?;
    let files = get("files")?;

    let mut notes = Vec::new();
    let mut taken = BTreeSet::new();
    let mut ids: BTreeMap<i64, String> = BTreeMap::new();
    for r in &challenges_rows {
        let (Some(id), Some(name)) = (int(r, "id"), text(r, "name")) else {
            notes.push("a challenge row without an id or a name was skipped".into());
            continue;
        };
        let kind = text(r, "type").unwrap_or_else(|| "standard".into());
        if kind != "standard" && kind != "dynamic" {
            notes.push(format!(
                "challenge {name:?} is of type {kind:?}, which Palisade does not run; skipped"
            ));
            continue;
        }
        ids.insert(id, slug(&name, &mut taken));
    }

    let mut out = Vec::new();
    let mut out_files = Vec::new();
    for r in &challenges_rows {
        let Some(id) = int(r, "id") else { continue };
        let Some(slug) = ids.get(&id).cloned() else {
            continue;
        };
        let name: String = text(r, "name")
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect();
        let mut description = text(r, "description").unwrap_or_default();
        if let Some(ci) = text(r, "connection_info").filter(|s| !s.trim().is_empty()) {
            description.push_str(&format!("\n\nConnection: {ci}"));
        }
        if description.trim().is_empty() {
            description = name.clone();
        }
        if text(r, "state").as_deref() == Some("hidden") {
            notes.push(format!(
                "challenge {name:?} was hidden in CTFd; imported (remove it to keep it out)"
            ));
        }
        let scoring = if text(r, "type").as_deref() == Some("dynamic") {
            match dynamic.get(&id) {
                Some(d) => {
                    let initial = clamp(int(d, "initial")).max(1);
                    let minimum = clamp(int(d, "minimum")).min(initial);
                    let function = match text(d, "function").as_deref() {
                        Some("linear") => Decay::Linear,
                        _ => Decay::Logarithmic,
                    };
                    Scoring::Dynamic {
                        initial,
                        minimum,
                        decay: clamp(int(d, "decay")),
                        function,
                    }
                }
                None => {
                    notes.push(format!(
                        "dynamic challenge {name:?} has no row in dynamic_challenge.json; imported with its current value as a static value"
                    ));
                    Scoring::Static {
                        value: clamp(int(r, "value")),
                    }
                }
            }
        } else {
            Scoring::Static {
                value: clamp(int(r, "value")),
            }
        };
        let prerequisites: Vec<String> = r
            .get("requirements")
            .map(|req| match req {
                // Old exports keep requirements as JSON text.
                Value::String(s) => serde_json::from_str::<Value>(s).unwrap_or(Value::Null),
                v => v.clone(),
            })
            .and_then(|req| req.get("prerequisites").cloned())
            .and_then(|p| p.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.as_i64())
            .filter_map(|p| {
                let found = ids.get(&p).cloned();
                if found.is_none() {
                    notes.push(format!(
                        "challenge {name:?} lost a prerequisite (CTFd challenge {p}) that was not imported"
                    ));
                }
                found
            })
            .collect();

        let mut challenge_flags = Vec::new();
        for f in flags.iter().filter(|f| int(f, "challenge_id") == Some(id)) {
            let content = text(f, "content").unwrap_or_default();
            let case_sensitive = text(f, "data").as_deref() != Some("case_insensitive");
            match text(f, "type").as_deref() {
                Some("static") if !content.trim().is_empty() => challenge_flags.push(Flag::Plain {
                    flag: content.trim().to_string(),
                    case_sensitive,
                }),
                Some("regex") => {
                    if super::challenge::compile_pattern(&content, case_sensitive).is_ok() {
                        challenge_flags.push(Flag::Regex {
                            pattern: content,
                            case_sensitive,
                        });
                    } else {
                        notes.push(format!(
                            "a regex flag of {name:?} does not compile within the limits; skipped"
                        ));
                    }
                }
                other => notes.push(format!(
                    "a flag of {name:?} of type {:?} was skipped",
                    other.unwrap_or("none")
                )),
            }
        }
        if challenge_flags.is_empty() {
            notes.push(format!(
                "challenge {name:?} has no flag Palisade can check; skipped"
            ));
            continue;
        }
        let challenge_hints: Vec<Hint> = hints
            .iter()
            .filter(|h| int(h, "challenge_id") == Some(id))
            .filter_map(|h| {
                text(h, "content")
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| Hint {
                        text: c,
                        cost: clamp(int(h, "cost")),
                    })
            })
            .collect();
        let mut attachments = Vec::new();
        for f in files.iter().filter(|f| int(f, "challenge_id") == Some(id)) {
            let Some(location) = text(f, "location") else {
                continue;
            };
            let file_name = location.rsplit('/').next().unwrap_or_default().to_string();
            let safe = !file_name.is_empty()
                && file_name != "."
                && file_name != ".."
                && !file_name.contains('\\');
            match uploads.get(&location) {
                Some(bytes) if safe => {
                    attachments.push(file_name.clone());
                    out_files.push(ImportedFile {
                        challenge: slug.clone(),
                        name: file_name,
                        bytes: bytes.clone(),
                    });
                }
                _ => notes.push(format!(
                    "file {location:?} of {name:?} is not in the export; left out"
                )),
            }
        }
        let mut c = Challenge {
            id: slug,
            name,
            category: text(r, "category")
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| "misc".into())
                .chars()
                .take(40)
                .collect(),
            description,
            scoring,
            attachments,
            hints: challenge_hints,
            prerequisites,
            max_attempts: int(r, "max_attempts")
                .filter(|n| *n > 0)
                .map(|n| n.min(u32::MAX as i64) as u32),
            flags: challenge_flags,
        };
        c.hash_plain_flags(&salt());
        out.push(c);
    }
    // A prerequisite that was skipped cannot be met: drop it, and say so.
    let kept: BTreeSet<String> = out.iter().map(|c| c.id.clone()).collect();
    for c in &mut out {
        let before = c.prerequisites.len();
        c.prerequisites.retain(|p| kept.contains(p));
        if c.prerequisites.len() != before {
            notes.push(format!(
                "challenge {:?} lost a prerequisite that was not imported",
                c.name
            ));
        }
    }
    let problems = check_set(&out);
    if !problems.is_empty() {
        return Err(ImportError(problems.join("; ")));
    }
    Ok(Imported {
        challenges: out,
        files: out_files,
        notes,
    })
}

/// Import a CTFd export zip (its bytes).
pub fn import_zip(
    bytes: &[u8],
    salt: &mut dyn FnMut() -> [u8; 16],
) -> Result<Imported, ImportError> {
    if bytes.len() > MAX_ZIP_BYTES {
        return Err(ImportError(format!(
            "the archive is larger than {MAX_ZIP_BYTES} bytes"
        )));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError(format!("not a zip archive: {e}")))?;
    let mut tables = BTreeMap::new();
    let mut uploads = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| ImportError(format!("member {i} cannot be read: {e}")))?;
        let name = f.name().to_string();
        if f.is_dir() {
            continue;
        }
        if name.starts_with('/') || name.split('/').any(|p| p == "..") {
            return Err(ImportError(format!("member {name:?} escapes the archive")));
        }
        let wanted_table = name
            .strip_prefix("db/")
            .and_then(|t| t.strip_suffix(".json"))
            .filter(|t| ["challenges", "dynamic_challenge", "flags", "hints", "files"].contains(t))
            .map(String::from);
        let upload = name.strip_prefix("uploads/").map(String::from);
        if wanted_table.is_none() && upload.is_none() {
            continue;
        }
        if f.size() > MAX_MEMBER_BYTES {
            return Err(ImportError(format!(
                "member {name:?} is larger than {MAX_MEMBER_BYTES} bytes"
            )));
        }
        let mut buf = Vec::new();
        (&mut f)
            .take(MAX_MEMBER_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ImportError(format!("member {name:?} cannot be read: {e}")))?;
        if buf.len() as u64 > MAX_MEMBER_BYTES {
            return Err(ImportError(format!(
                "member {name:?} is larger than {MAX_MEMBER_BYTES} bytes"
            )));
        }
        if let Some(t) = wanted_table {
            tables.insert(t, buf);
        } else if let Some(u) = upload {
            uploads.insert(u, buf);
        }
    }
    import_tables(&tables, &uploads, salt)
}
