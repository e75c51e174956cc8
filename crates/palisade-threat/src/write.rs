//! Writing a model back as a Palisade model file ([`to_yaml`]).
//!
//! The YAML is written here rather than by a serde YAML serialiser: those are built on libyaml, a
//! YAML 1.1 emitter, which writes U+2028 and U+2029 as line breaks inside single-quoted scalars;
//! the loader reads YAML 1.2, where they are ordinary characters, and would read such a string
//! back with indentation inside it. The shapes written are few (mappings with text keys,
//! sequences, text, booleans, numbers and null), so the writer is small, and it quotes whenever a
//! reader of either YAML version could take a string for something else.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{
    ATTRIBUTES, Asset, Boundary, Element, Flow, Model, StatusEntry, StatusKind, attribute,
};

/// The model as a Palisade model file: the keys the loader reads, in the order a person would
/// write them, with nothing written that is unset or empty. Includes are joined (the result is one
/// file) and positions are not kept; [`crate::model::from_str`] reads it back as the same model.
pub fn to_yaml(model: &Model) -> String {
    let mut top = Vec::new();
    top.push(("version".to_string(), Y::Raw("1".into())));
    text(&mut top, "name", &model.name);
    text(&mut top, "description", &model.description);
    section(&mut top, "assets", &model.assets, asset);
    section(&mut top, "boundaries", &model.boundaries, boundary);
    top.push((
        "elements".into(),
        Y::Map(
            model
                .elements
                .iter()
                .map(|(id, e)| (id.clone(), element(e)))
                .collect(),
        ),
    ));
    section(&mut top, "flows", &model.flows, flow);
    section(&mut top, "threats", &model.threats, status);
    let mut out = String::new();
    render_map(&mut out, &top, 0);
    out
}

/// A YAML value to write.
enum Y {
    /// Text, quoted as needed.
    Str(String),
    /// A boolean, number or null, written as it is.
    Raw(String),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

impl From<&Value> for Y {
    fn from(v: &Value) -> Y {
        match v {
            Value::Null => Y::Raw("null".into()),
            Value::Bool(b) => Y::Raw(b.to_string()),
            Value::Number(n) => Y::Raw(n.to_string()),
            Value::String(s) => Y::Str(s.clone()),
            Value::Array(a) => Y::Seq(a.iter().map(Y::from).collect()),
            Value::Object(o) => Y::Map(o.iter().map(|(k, v)| (k.clone(), Y::from(v))).collect()),
        }
    }
}

type Entries = Vec<(String, Y)>;

fn section<T>(out: &mut Entries, key: &str, items: &BTreeMap<String, T>, f: fn(&T) -> Y) {
    if !items.is_empty() {
        out.push((
            key.into(),
            Y::Map(items.iter().map(|(id, v)| (id.clone(), f(v))).collect()),
        ));
    }
}

fn text(out: &mut Entries, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        out.push((key.into(), Y::Str(v.clone())));
    }
}

fn list(out: &mut Entries, key: &str, v: &[String]) {
    if !v.is_empty() {
        out.push((key.into(), Y::Seq(v.iter().cloned().map(Y::Str).collect())));
    }
}

fn flag(out: &mut Entries, key: &str, v: bool) {
    if v {
        out.push((key.into(), Y::Raw("true".into())));
    }
}

/// Table attributes in the order of [`ATTRIBUTES`] (any other name after them), then the custom
/// `attributes:`.
fn attrs(out: &mut Entries, attrs: &BTreeMap<String, Value>, custom: &BTreeMap<String, Value>) {
    for a in ATTRIBUTES {
        if let Some(v) = attrs.get(a.name) {
            out.push((a.name.into(), Y::from(v)));
        }
    }
    for (k, v) in attrs {
        if attribute(k).is_none() {
            out.push((k.clone(), Y::from(v)));
        }
    }
    if !custom.is_empty() {
        out.push((
            "attributes".into(),
            Y::Map(
                custom
                    .iter()
                    .map(|(k, v)| (k.clone(), Y::from(v)))
                    .collect(),
            ),
        ));
    }
}

fn asset(a: &Asset) -> Y {
    let mut e = Vec::new();
    text(&mut e, "name", &a.name);
    text(&mut e, "description", &a.description);
    for (key, level) in [
        ("confidentiality", a.confidentiality),
        ("integrity", a.integrity),
        ("availability", a.availability),
    ] {
        if let Some(l) = level {
            e.push((key.into(), Y::Str(l.as_str().into())));
        }
    }
    flag(&mut e, "pii", a.pii);
    flag(&mut e, "credentials", a.credentials);
    Y::Map(e)
}

fn boundary(b: &Boundary) -> Y {
    let mut e = Vec::new();
    text(&mut e, "name", &b.name);
    text(&mut e, "description", &b.description);
    text(&mut e, "parent", &b.parent);
    Y::Map(e)
}

fn element(el: &Element) -> Y {
    let mut e = vec![("type".to_string(), Y::Str(el.kind.as_str().into()))];
    text(&mut e, "name", &el.name);
    text(&mut e, "description", &el.description);
    text(&mut e, "boundary", &el.boundary);
    attrs(&mut e, &el.attrs, &el.attributes);
    list(&mut e, "data", &el.data);
    list(&mut e, "tags", &el.tags);
    Y::Map(e)
}

fn flow(f: &Flow) -> Y {
    let mut e = vec![
        ("from".to_string(), Y::Str(f.from.clone())),
        ("to".to_string(), Y::Str(f.to.clone())),
    ];
    text(&mut e, "name", &f.name);
    text(&mut e, "description", &f.description);
    text(&mut e, "protocol", &f.protocol);
    flag(&mut e, "bidirectional", f.bidirectional);
    attrs(&mut e, &f.attrs, &f.attributes);
    list(&mut e, "data", &f.data);
    list(&mut e, "tags", &f.tags);
    Y::Map(e)
}

fn status(t: &StatusEntry) -> Y {
    let s = match t.status {
        StatusKind::Open => "open",
        StatusKind::Mitigated => "mitigated",
        StatusKind::Accepted => "accepted",
        StatusKind::FalsePositive => "false-positive",
    };
    let mut e = vec![("status".to_string(), Y::Str(s.into()))];
    text(&mut e, "mitigation", &t.mitigation);
    text(&mut e, "owner", &t.owner);
    text(&mut e, "reason", &t.reason);
    text(&mut e, "expires", &t.expires);
    text(&mut e, "note", &t.note);
    Y::Map(e)
}

// Rendering.

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn render_map(out: &mut String, entries: &[(String, Y)], indent: usize) {
    for (k, v) in entries {
        pad(out, indent);
        let key = quote(k, Context::Key);
        // An implicit key is at most 1024 characters; longer ones are written explicitly.
        if key.chars().count() > 1000 {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            pad(out, indent);
            out.push(':');
        } else {
            out.push_str(&key);
            out.push(':');
        }
        render_value(out, v, indent);
    }
}

/// A value after its key (or after `-`), from the rest of that line on.
fn render_value(out: &mut String, v: &Y, indent: usize) {
    match v {
        Y::Raw(r) => {
            out.push(' ');
            out.push_str(r);
            out.push('\n');
        }
        Y::Str(s) => match literal(s) {
            Some(header) => {
                out.push(' ');
                out.push_str(header);
                out.push('\n');
                let body = s.trim_end_matches('\n');
                for line in body.split('\n') {
                    if !line.is_empty() {
                        pad(out, indent + 2);
                        out.push_str(line);
                    }
                    out.push('\n');
                }
                // Kept trailing line breaks beyond the first are written as empty lines.
                for _ in 1..(s.len() - body.len()) {
                    out.push('\n');
                }
            }
            None => {
                out.push(' ');
                out.push_str(&quote(s, Context::Block));
                out.push('\n');
            }
        },
        Y::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Y::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Y::Seq(items) if items.len() <= 8 => match flow_seq(items, indent) {
            Some(line) => {
                out.push(' ');
                out.push_str(&line);
                out.push('\n');
            }
            None => block_seq(out, items, indent),
        },
        Y::Seq(items) => block_seq(out, items, indent),
        Y::Map(entries) => {
            out.push('\n');
            render_map(out, entries, indent + 2);
        }
    }
}

/// A short list of one-line scalars on one line: `[a, b]`.
fn flow_seq(items: &[Y], indent: usize) -> Option<String> {
    let mut parts = Vec::new();
    for item in items {
        match item {
            Y::Raw(r) => parts.push(r.clone()),
            Y::Str(s) if !s.contains('\n') => parts.push(quote(s, Context::Flow)),
            _ => return None,
        }
    }
    let line = format!("[{}]", parts.join(", "));
    (indent + line.chars().count() <= 80).then_some(line)
}

fn block_seq(out: &mut String, items: &[Y], indent: usize) {
    out.push('\n');
    for item in items {
        pad(out, indent + 2);
        out.push('-');
        match item {
            Y::Map(entries) if !entries.is_empty() => {
                // `- key: value`, the other keys under the first.
                let mut nested = String::new();
                render_map(&mut nested, entries, indent + 4);
                out.push_str(&nested[indent + 3..]);
            }
            _ => render_value(out, item, indent + 2),
        }
    }
}

/// The block scalar header (`|`, `|-`, `|+`) when `s` reads well and safely as a literal block:
/// several lines of printable text, none starting the block with a space nor ending in one.
fn literal(s: &str) -> Option<&'static str> {
    if !s.contains('\n') || s.starts_with([' ', '\n']) {
        return None;
    }
    if s.chars()
        .any(|c| c != '\n' && (c == '\t' || unprintable(c)))
    {
        return None;
    }
    let body = s.trim_end_matches('\n');
    if body.split('\n').any(|l| l.ends_with(' ')) {
        return None;
    }
    Some(match s.len() - body.len() {
        0 => "|-",
        1 => "|",
        _ => "|+",
    })
}

/// Characters outside YAML's printable set, and the ones YAML 1.1 reads as line breaks or a
/// byte-order mark: written only as escapes.
fn unprintable(c: char) -> bool {
    let n = c as u32;
    n < 0x20
        || (0x7f..=0x9f).contains(&n)
        || matches!(n, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

/// The escape a character needs in a double-quoted scalar, if any.
fn escape(c: char) -> Option<String> {
    Some(match c {
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        '\0' => "\\0".into(),
        c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
            format!("\\x{:02X}", c as u32)
        }
        '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
            format!("\\u{:04X}", c as u32)
        }
        _ => return None,
    })
}

/// Where a scalar is written: punctuation that is safe in a block value is not in a key or a
/// flow list.
#[derive(Clone, Copy, PartialEq)]
enum Context {
    Key,
    Block,
    Flow,
}

/// `s` as a one-line scalar: plain when no YAML reader could take it for anything but this text,
/// double-quoted otherwise.
fn quote(s: &str, context: Context) -> String {
    if plain(s, context) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match escape(c) {
            Some(e) => out.push_str(&e),
            None => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` can be written unquoted: it starts with a letter, `_`, `/` or `(` (so never with
/// an indicator, a digit or a sign), does not end in a space, is not a word some YAML reads as a
/// boolean or null, and holds only letters, digits, spaces (not in a flow list), `_-./@()+`, other printable
/// non-ASCII characters, and — in a block value — the punctuation that means nothing there
/// (`,` `'` `;` …, a `:` not before a space, a `#` not after one).
fn plain(s: &str, context: Context) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_alphabetic() || matches!(first, '_' | '/' | '(')) || s.ends_with([' ', ':']) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") {
        return false;
    }
    let ok = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '-' | '.' | '/' | '@' | '(' | ')' | '+')
            // A flow list ends a plain scalar at ` -]` and the like: no spaces there.
            || (c == ' ' && context != Context::Flow)
            || (!c.is_ascii() && !c.is_whitespace() && !unprintable(c))
            || (context == Context::Block
                && matches!(
                    c,
                    ',' | '\''
                        | ';'
                        | '!'
                        | '?'
                        | '%'
                        | '&'
                        | '*'
                        | '='
                        | '~'
                        | '$'
                        | '^'
                        | ':'
                        | '#'
                        | '<'
                        | '>'
                        | '|'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '"'
                        | '`'
                ))
    };
    if !s.chars().all(ok) {
        return false;
    }
    const WORDS: &[&str] = &[
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf", "infinity",
    ];
    let lower = s.to_lowercase();
    !WORDS.contains(&lower.as_str()) && s.parse::<f64>().is_err()
}
