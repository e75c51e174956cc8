//! YAML read into JSON with the position of every value, so a serde error or a validation
//! error names the file, line, column and path of what is wrong (the same approach as the threat
//! models: `palisade-yaml` for positions and limits, `serde_path_to_error` for the path).

use palisade_yaml::{Node, Value as YValue};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// The largest scenario or challenge file read, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// An error at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LocatedError {
    /// The file (or any name the caller gave the text).
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The offending value's path (`injections[2].at`); empty for the whole file.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for LocatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// The positions of a document's values by path (`a.b[0].c`).
#[derive(Debug, Default, Clone)]
pub struct Positions(HashMap<String, (usize, usize)>);

impl Positions {
    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        let mut p = path.to_string();
        loop {
            if let Some(pos) = self.0.get(&p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => return self.0.get("").copied().unwrap_or((1, 1)),
            }
        }
    }
}

/// Parse `text` (one YAML document holding a mapping) and deserialise it, or say where it is
/// wrong. `what` names the document in messages ("a scenario").
pub fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
    what: &str,
) -> Result<(T, Positions), LocatedError> {
    let err = |line, column, path: &str, message: String| LocatedError {
        file: file.to_string(),
        line,
        column,
        path: path.to_string(),
        message,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(err(
            1,
            1,
            "",
            format!(
                "the file is {} bytes; {what} file may be at most {MAX_FILE_BYTES} bytes",
                text.len()
            ),
        ));
    }
    let docs = palisade_yaml::parse_stream(text).map_err(|e| {
        err(
            e.line,
            e.column,
            "",
            format!("not valid YAML: {}", e.message),
        )
    })?;
    let root = match docs.len() {
        0 => return Err(err(1, 1, "", format!("the file is empty; expected {what}"))),
        1 => &docs[0].root,
        _ => {
            return Err(err(
                docs[1].start_line,
                1,
                "",
                format!("{what} file holds one YAML document"),
            ));
        }
    };
    if !root.is_map() {
        return Err(err(
            root.line,
            root.column,
            "",
            format!("{what} is a mapping of keys to values"),
        ));
    }
    let mut positions = Positions::default();
    let value = to_json(root, String::new(), &mut positions)
        .map_err(|(line, column, path, message)| err(line, column, &path, message))?;
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let (line, column) = positions.locate(&path);
        err(
            line,
            column,
            if path == "." { "" } else { &path },
            e.into_inner().to_string(),
        )
    })?;
    Ok((parsed, positions))
}

type ConvError = (usize, usize, String, String);

/// A YAML tree as JSON, recording each value's position under its path. Plain scalars are typed
/// as YAML 1.2's core schema does; quoted ones are always strings.
fn to_json(node: &Node, path: String, positions: &mut Positions) -> Result<Value, ConvError> {
    positions.0.insert(path.clone(), (node.line, node.column));
    Ok(match &node.value {
        YValue::Scalar { text, plain } => {
            if !*plain {
                Value::String(text.clone())
            } else if node.is_null() {
                Value::Null
            } else if node.is_true() {
                Value::Bool(true)
            } else if node.is_false() {
                Value::Bool(false)
            } else if let Ok(i) = text.parse::<i64>() {
                Value::Number(i.into())
            } else if let Some(n) = text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(Number::from_f64)
            {
                Value::Number(n)
            } else {
                Value::String(text.clone())
            }
        }
        YValue::Seq(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| to_json(n, format!("{path}[{i}]"), positions))
                .collect::<Result<_, _>>()?,
        ),
        YValue::Map(_) => {
            let mut map = Map::new();
            for (k, v) in node.all_entries() {
                let Some(key) = k.str() else {
                    return Err((k.line, k.column, path, "keys must be text".into()));
                };
                let child = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                if map.contains_key(key) {
                    return Err((k.line, k.column, child, format!("`{key}` is written twice")));
                }
                let value = to_json(v, child.clone(), positions)?;
                // A mapping entry is reported at its key.
                positions.0.insert(child, (k.line, k.column));
                map.insert(key.to_string(), value);
            }
            Value::Object(map)
        }
    })
}
