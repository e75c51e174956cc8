//! What the importers ([`crate::otm`], [`crate::threagile`]) share: reading JSON or YAML with
//! positions for errors, turning foreign ids into Palisade ids, fitting foreign attribute values
//! to the attribute table, and checking that what they built loads as a model.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::model::{self, AttrType, Attribute, Level, MAX_FILE_BYTES, Model, ModelError};

/// Deepest nesting of boundaries (or of components in components) an import accepts: deeper is a
/// mistake or an attack, and every walk up the nesting is bounded by it.
pub(crate) const MAX_NESTING: usize = 64;

/// A model made from another tool's file, and what did not carry over exactly.
#[derive(Debug, Clone)]
pub struct Imported {
    pub model: Model,
    /// One line each: what was approximated, guessed or left out, for the person importing to
    /// check (`model::to_yaml` writes the model; these are not in it).
    pub notes: Vec<String>,
}

type Positions = HashMap<String, (usize, usize)>;

/// A file read as a JSON value, with the positions of its values found when an error needs one.
pub(crate) struct Source<'a> {
    pub file: &'a Path,
    text: &'a str,
    pub value: Value,
    positions: OnceCell<Positions>,
}

impl<'a> Source<'a> {
    /// Read `text` as JSON (when it starts with `{`) or YAML. `what` names the format in messages
    /// ("an OTM file").
    pub fn parse(file: &'a Path, text: &'a str, what: &str) -> Result<Source<'a>, Vec<ModelError>> {
        let at = |line: usize, column: usize, message: String| {
            vec![ModelError {
                file: file.to_path_buf(),
                line,
                column,
                path: String::new(),
                message,
            }]
        };
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(at(
                1,
                1,
                format!(
                    "{} bytes; {what} may be at most {MAX_FILE_BYTES} bytes",
                    text.len()
                ),
            ));
        }
        let body = text.trim_start_matches('\u{feff}');
        if body.trim_start().starts_with('{') {
            let value: Value = serde_json::from_str(body)
                .map_err(|e| at(e.line(), e.column(), format!("not valid JSON: {e}")))?;
            return Ok(Source {
                file,
                text,
                value,
                positions: OnceCell::new(),
            });
        }
        let docs = palisade_yaml::parse_stream(text).map_err(|e| {
            at(
                e.line,
                e.column,
                format!("not valid JSON or YAML: {}", e.message),
            )
        })?;
        let root = match docs.len() {
            0 => return Err(at(1, 1, format!("the file is empty; {what} was expected"))),
            1 => &docs[0].root,
            _ => {
                return Err(at(
                    docs[1].start_line,
                    1,
                    format!("{what} is one YAML document; this file holds several"),
                ));
            }
        };
        let mut positions = Positions::new();
        let value = model::yaml_to_json(root, &mut positions).map_err(
            |(line, column, path, message)| {
                vec![ModelError {
                    file: file.to_path_buf(),
                    line,
                    column,
                    path,
                    message,
                }]
            },
        )?;
        if !value.is_object() {
            return Err(at(
                root.line,
                root.column,
                format!("{what} is a mapping of keys to values; this is not"),
            ));
        }
        Ok(Source {
            file,
            text,
            value,
            positions: OnceCell::from(positions),
        })
    }

    /// An error at the value `path` (`components[2].parent`).
    pub fn error(&self, path: &str, message: impl Into<String>) -> ModelError {
        let positions = self.positions.get_or_init(|| {
            // JSON is read by serde_json, which keeps no positions; the YAML reader reads JSON
            // too, so it finds them (only when an error needs them).
            let mut p = Positions::new();
            if let Ok(docs) = palisade_yaml::parse_stream(self.text)
                && let Some(doc) = docs.first()
            {
                let _ = model::yaml_to_json(&doc.root, &mut p);
            }
            p
        });
        let (line, column) = model::position(positions, path);
        ModelError {
            file: self.file.to_path_buf(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// The file's value as `T`, a wrong type reported at its path.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Vec<ModelError>> {
        serde_path_to_error::deserialize(&self.value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            vec![self.error(&path, e.into_inner().to_string())]
        })
    }
}

/// Text written as any scalar: ids and names in YAML may be numbers (`id: 12`) or words YAML
/// takes for booleans.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("text")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The text of an optional value, `None` when blank.
pub(crate) fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref()
        .map(|t| t.0.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A list that may be missing, null, or hold nulls: its texts.
pub(crate) fn texts(list: &Option<Vec<Option<Text>>>) -> Vec<String> {
    list.iter()
        .flatten()
        .flatten()
        .map(|t| t.0.clone())
        .collect()
}

/// Foreign ids made into Palisade ids (letters, digits, `-`, `_`, `.`; at most 128), unique in
/// their kind; the same foreign id always gives the same id.
#[derive(Default)]
pub(crate) struct Ids {
    map: HashMap<String, String>,
    used: BTreeSet<String>,
    /// The next suffix to try for a base id (so that many foreign ids with one base do not make
    /// each new one try every suffix before it).
    next: HashMap<String, usize>,
}

impl Ids {
    /// The Palisade id of `foreign`, made on first use.
    pub fn id(&mut self, foreign: &str) -> String {
        if let Some(id) = self.map.get(foreign) {
            return id.clone();
        }
        let mut base: String = String::new();
        for c in foreign.trim().chars() {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                base.push(c);
            } else if !base.ends_with('-') {
                base.push('-');
            }
        }
        let mut base = base.trim_matches('-').to_string();
        if base.is_empty() {
            base = "x".into();
        }
        base.truncate(100);
        let mut id = base.clone();
        let n = self.next.entry(base.clone()).or_insert(2);
        while self.used.contains(&id) {
            id = format!("{base}-{n}");
            *n += 1;
        }
        self.used.insert(id.clone());
        self.map.insert(foreign.to_string(), id.clone());
        id
    }

    /// The Palisade id of a foreign id already seen.
    pub fn get(&self, foreign: &str) -> Option<&str> {
        self.map.get(foreign).map(String::as_str)
    }

    /// Foreign ids that had to change, as `old → new`.
    pub fn renamed(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .map
            .iter()
            .filter(|(k, v)| k != v)
            .map(|(k, v)| format!("`{k}` → `{v}`"))
            .collect();
        v.sort();
        v
    }
}

/// `value` as a value of the attribute's type, when it is one or plainly says one (`"true"`,
/// `"3"`, `"High"`).
pub(crate) fn fit(attr: &Attribute, value: &Value) -> Option<Value> {
    match (attr.ty, value) {
        (AttrType::Bool, Value::Bool(_)) => Some(value.clone()),
        (AttrType::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(Value::Bool(true)),
            "false" | "no" => Some(Value::Bool(false)),
            _ => None,
        },
        (AttrType::Int, Value::Number(n)) if n.is_i64() || n.is_u64() => Some(value.clone()),
        (AttrType::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (AttrType::Text, Value::String(s)) if !s.is_empty() => Some(value.clone()),
        (AttrType::Text, Value::Number(_) | Value::Bool(_)) => {
            Some(Value::String(value.to_string()))
        }
        (AttrType::Level, Value::String(s)) => {
            Level::parse(&s.trim().to_ascii_lowercase()).map(|l| Value::String(l.as_str().into()))
        }
        (AttrType::OneOf(words), Value::String(s)) => {
            let w = s.trim().to_ascii_lowercase();
            words
                .contains(&w.as_str())
                .then(|| Value::String(w.clone()))
        }
        _ => None,
    }
}

/// The model, checked by writing it as a model file and loading that: whatever an importer
/// builds, the user gets a file that loads. A failure here is a defect of the importer, reported
/// against the imported file.
pub(crate) fn finish(
    file: &Path,
    mut model: Model,
    mut notes: Vec<String>,
) -> Result<Imported, Vec<ModelError>> {
    model.file = file.to_path_buf();
    model.files = vec![file.to_path_buf()];
    let text = model::to_yaml(&model);
    if let Err(errors) = model::from_str(file, &text) {
        return Err(errors
            .into_iter()
            .map(|e| ModelError {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
                path: e.path.clone(),
                message: format!(
                    "the model made from this file does not load ({}); please report this",
                    e.message
                ),
            })
            .collect());
    }
    notes.dedup();
    Ok(Imported { model, notes })
}

/// Items of a note, at most 20 of them named.
pub(crate) fn some(items: &[String]) -> String {
    const SHOWN: usize = 20;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!(
            "{}, … and {} more",
            items[..SHOWN].join(", "),
            items.len() - SHOWN
        )
    }
}

/// Words of a type or tag: `AWS-RDS database` → `aws`, `rds`, `database`.
pub(crate) fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Custom attributes from an `attributes` value: a mapping, or (as some tools write it) a list
/// of one-entry mappings; `None` for anything else.
pub(crate) fn attribute_map(v: &Option<Value>) -> Option<BTreeMap<String, Value>> {
    match v {
        None | Some(Value::Null) => Some(BTreeMap::new()),
        Some(Value::Object(o)) => Some(o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Some(Value::Array(items)) => {
            let mut out = BTreeMap::new();
            for item in items {
                match item {
                    Value::Object(o) => {
                        out.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    Value::Null => {}
                    _ => return None,
                }
            }
            Some(out)
        }
        Some(_) => None,
    }
}
