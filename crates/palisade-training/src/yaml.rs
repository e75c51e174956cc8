//! YAML read into JSON with the position of every value, so a serde error or a validation
//! error names the file, line, column and path of what is wrong (the same approach as the threat
//! models: `palisade-yaml` for positions and limits, `serde_path_to_error` for the path).

use serde::de::DeserializeOwned;

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
pub struct Positions(palisade_yaml::Positions);

impl Positions {
    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        palisade_yaml::locate(&self.0, path)
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
    let value = palisade_yaml::to_json(root, &mut positions.0)
        .map_err(|e| err(e.line, e.column, &e.path, e.message))?;
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
