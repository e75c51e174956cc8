//! Reading files with limits, YAML as JSON values with the position of every value, and the
//! deserialisation that turns a failure into an [`Error`] at the offending line.

use std::io::Read;
use std::path::Path;

use palisade_yaml::Node;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// The largest single file read: a model file (the DSOMM model is about 0.35 MB, the CSF
/// catalog 0.35 MB) or an answers file.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Read a file as UTF-8 text, refusing more than `limit` bytes (checked on what is read, so a
/// device or a growing file cannot make it read without end).
pub fn read_text(path: &Path, limit: u64) -> Result<String, Error> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(Error::file(
            path,
            format!("larger than {limit} bytes; this is not a file Palisade reads"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::file(
            path,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// Where each value of a converted document was written, by path (`a.b[0].c`, the syntax of
/// `serde_path_to_error`).
pub type Positions = palisade_yaml::Positions;

/// The documents of a YAML stream as JSON values, with positions (one map per document).
pub fn yaml_documents(path: &Path, text: &str) -> Result<Vec<(Value, Positions)>, Error> {
    let docs = palisade_yaml::parse_stream(text).map_err(|e| {
        Error::at(
            path,
            e.line,
            e.column,
            format!("not valid YAML: {}", e.message),
        )
    })?;
    docs.iter()
        .map(|d| {
            let mut positions = Positions::new();
            let v = palisade_yaml::to_json(&d.root, &mut positions)
                .map_err(|e| Error::at(path, e.line, e.column, e.message))?;
            Ok((v, positions))
        })
        .collect()
}

/// A subtree of a YAML document as JSON, with positions relative to it.
pub fn node_value(path: &Path, node: &Node) -> Result<(Value, Positions), Error> {
    let mut positions = Positions::new();
    let v = palisade_yaml::to_json(node, &mut positions)
        .map_err(|e| Error::at(path, e.line, e.column, e.message))?;
    Ok((v, positions))
}

/// A file holding one YAML document, as JSON with positions.
pub fn yaml_document(path: &Path, text: &str) -> Result<(Value, Positions), Error> {
    let mut docs = yaml_documents(path, text)?;
    match docs.len() {
        0 => Err(Error::at(path, 1, 1, "the file is empty")),
        1 => Ok(docs.remove(0)),
        n => Err(Error::file(
            path,
            format!("holds {n} YAML documents; one is expected"),
        )),
    }
}

/// The position recorded for `path`, or of its nearest recorded parent.
pub fn locate(positions: &Positions, path: &str) -> (usize, usize) {
    palisade_yaml::locate(positions, path)
}

/// Deserialise a converted document, an error naming the line of the value that failed.
pub fn deserialize<T: DeserializeOwned>(
    path: &Path,
    value: Value,
    positions: &Positions,
) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        let (line, column) = locate(positions, &at);
        let inner = e.into_inner().to_string();
        let message = if at == "." || at.is_empty() {
            inner
        } else {
            format!("{at}: {inner}")
        };
        Error::at(path, line, column, message)
    })
}

/// A JSON text, with a clear error at its line (serde_json limits nesting to 128 levels).
pub fn json_value(path: &Path, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::at(path, e.line(), e.column(), format!("not valid JSON: {e}")))
}

/// SHA-256 of `parts` (each length-prefixed), as `sha256:` and the first 16 hex digits: the
/// version of a model that states none.
pub fn content_version<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let digest = hex::encode(h.finalize());
    format!("sha256:{}", &digest[..16])
}

/// Text from a model made safe for a one-line place (a YAML comment, a table cell): line
/// breaks of any kind and control characters become spaces, runs of spaces one.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out.trim_end().to_string()
}

/// A day `YYYY-MM-DD` (checked: month 1–12, day valid for the month).
pub fn valid_day(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !s[0..4].bytes().all(|c| c.is_ascii_digit())
        || !s[5..7].bytes().all(|c| c.is_ascii_digit())
        || !s[8..10].bytes().all(|c| c.is_ascii_digit())
    {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_checked() {
        for (s, ok) in [
            ("2026-02-28", true),
            ("2024-02-29", true),
            ("2026-02-29", false),
            ("2026-13-01", false),
            ("2026-1-01", false),
            ("+026-01-01", false),
            ("2026-04-31", false),
        ] {
            assert_eq!(valid_day(s), ok, "{s}");
        }
    }

    #[test]
    fn one_line_removes_every_kind_of_break() {
        assert_eq!(
            one_line("a\nb\r\nc\u{2028}d\u{85}e\t f"),
            "a b c d e f".to_string()
        );
    }

    #[test]
    fn positions_follow_paths() {
        let (v, pos) =
            yaml_document(Path::new("x.yaml"), "a:\n  b:\n    - 1\n    - x: 2\n").unwrap();
        assert_eq!(v["a"]["b"][1]["x"], 2);
        assert_eq!(locate(&pos, "a.b[1].x"), (4, 7));
        assert_eq!(locate(&pos, "a.b[1].missing"), (4, 7));
    }
}
