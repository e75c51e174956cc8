//! YAML documents as trees whose every node knows its line and column, built from
//! `saphyr-parser`'s events (YAML 1.2; the workspace's serde YAML crate gives no positions).
//!
//! Aliases are shared, never copied: an alias is another reference to its anchor's node. Each
//! node knows its size *as expanded* (itself plus its children's expanded sizes), and a document
//! whose expanded size passes [`MAX_EXPANDED_NODES`] is refused, so an alias bomb ("billion
//! laughs") costs the memory of its text and a walk of the tree is bounded. Nesting deeper than
//! [`MAX_DEPTH`] is refused too (a walk recurses). Merge keys (`<<: *base`) are honoured by
//! [`Node::get`]. Pure.

use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Most nodes a document may have once its aliases are expanded.
pub const MAX_EXPANDED_NODES: u64 = 1_000_000;
/// Deepest nesting of sequences and mappings.
pub const MAX_DEPTH: usize = 200;

/// A node with its 1-based position.
#[derive(Debug)]
pub struct Node {
    pub value: Value,
    pub line: usize,
    pub column: usize,
    /// Nodes in this subtree with aliases expanded.
    size: u64,
}

#[derive(Debug)]
pub enum Value {
    /// A scalar; `plain` when written without quotes or block style (only plain scalars are
    /// booleans, numbers or null).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

impl Node {
    /// The scalar's text.
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A plain `true` (YAML 1.2 core schema spellings).
    pub fn is_true(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "true" | "True" | "TRUE"))
    }

    /// A plain `false`.
    pub fn is_false(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "false" | "False" | "FALSE"))
    }

    /// Null: a plain `~`, `null` or nothing.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// An integer scalar.
    pub fn int(&self) -> Option<i64> {
        match &self.value {
            Value::Scalar { text, plain: true } => text.parse().ok(),
            _ => None,
        }
    }

    pub fn seq(&self) -> &[Rc<Node>] {
        match &self.value {
            Value::Seq(v) => v,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The entries of a mapping, merge keys (`<<`) left as written.
    pub fn entries(&self) -> &[(Rc<Node>, Rc<Node>)] {
        match &self.value {
            Value::Map(v) => v,
            _ => &[],
        }
    }

    /// The entry whose key is `key`: the key node (its position is the line to report) and the
    /// value. Keys written here win over merged ones (`<<: *base`, a mapping or a list of them).
    pub fn entry(&self, key: &str) -> Option<(&Rc<Node>, &Rc<Node>)> {
        let entries = self.entries();
        if let Some((k, v)) = entries.iter().find(|(k, _)| k.str() == Some(key)) {
            return Some((k, v));
        }
        for (k, v) in entries {
            if matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<") {
                let merged: Vec<&Rc<Node>> = match &v.value {
                    Value::Map(_) => vec![v],
                    Value::Seq(items) => items.iter().collect(),
                    Value::Scalar { .. } => vec![],
                };
                if let Some(found) = merged.into_iter().find_map(|m| m.entry(key)) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&Rc<Node>> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The value at a path of keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Rc<Node>> {
        let (first, rest) = keys.split_first()?;
        let v = self.get(first)?;
        if rest.is_empty() {
            Some(v)
        } else {
            v.path(rest)
        }
    }

    /// Every key and value of a mapping, merged entries included (written keys first).
    pub fn all_entries(&self) -> Vec<(&Rc<Node>, &Rc<Node>)> {
        let mut out: Vec<(&Rc<Node>, &Rc<Node>)> = Vec::new();
        let mut merges = Vec::new();
        for (k, v) in self.entries() {
            if matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<") {
                merges.push(v);
            } else {
                out.push((k, v));
            }
        }
        for m in merges {
            let maps: Vec<&Rc<Node>> = match &m.value {
                Value::Map(_) => vec![m],
                Value::Seq(items) => items.iter().collect(),
                Value::Scalar { .. } => vec![],
            };
            for map in maps {
                for (k, v) in map.all_entries() {
                    if !out
                        .iter()
                        .any(|(ok, _)| ok.str().is_some() && ok.str() == k.str())
                    {
                        out.push((k, v));
                    }
                }
            }
        }
        out
    }
}

/// A document of a stream: its root and the line it starts on.
#[derive(Debug)]
pub struct Document {
    pub root: Rc<Node>,
    /// The first line of the document (its `---`, or its first node).
    pub start_line: usize,
}

/// Why a YAML stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

enum Frame {
    Seq {
        items: Vec<Rc<Node>>,
        anchor: usize,
        span: Span,
        size: u64,
    },
    Map {
        entries: Vec<(Rc<Node>, Rc<Node>)>,
        key: Option<Rc<Node>>,
        anchor: usize,
        span: Span,
        size: u64,
    },
}

fn error(span: &Span, message: impl Into<String>) -> YamlError {
    YamlError {
        line: span.start.line(),
        column: span.start.col() + 1,
        message: message.into(),
    }
}

/// Parse every document of a YAML stream. Empty documents are left out.
pub fn parse_stream(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut anchors: Vec<Option<Rc<Node>>> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Rc<Node>> = None;
    let mut start_line = 1;
    while let Some(ev) = parser.next_event() {
        let (event, span) = ev.map_err(|e| YamlError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let node = match event {
            Event::StreamStart | Event::Nothing => continue,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                anchors.clear();
                root = None;
                start_line = span.start.line();
                continue;
            }
            Event::DocumentEnd => {
                if let Some(r) = root.take().filter(|r| !r.is_null()) {
                    docs.push(Document {
                        root: r,
                        start_line,
                    });
                }
                continue;
            }
            Event::Scalar(text, style, anchor, _) => {
                let n = Rc::new(Node {
                    value: Value::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    line: span.start.line(),
                    column: span.start.col() + 1,
                    size: 1,
                });
                register(&mut anchors, anchor, &n);
                n
            }
            Event::Alias(id) => match anchors.get(id).and_then(Clone::clone) {
                Some(n) => n,
                None => return Err(error(&span, "alias to an unknown anchor")),
            },
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(error(
                        &span,
                        format!("nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        anchor,
                        span,
                        size: 1,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        anchor,
                        span,
                        size: 1,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor, span, size) = match stack.pop() {
                    Some(Frame::Seq {
                        items,
                        anchor,
                        span,
                        size,
                    }) => (Value::Seq(items), anchor, span, size),
                    Some(Frame::Map {
                        entries,
                        anchor,
                        span,
                        size,
                        ..
                    }) => (Value::Map(entries), anchor, span, size),
                    None => return Err(error(&span, "end of a collection that was not started")),
                };
                let n = Rc::new(Node {
                    value,
                    line: span.start.line(),
                    column: span.start.col() + 1,
                    size,
                });
                register(&mut anchors, anchor, &n);
                n
            }
        };
        // Attach the node to its parent (or make it the root).
        match stack.last_mut() {
            None => root = Some(node),
            Some(frame) => {
                let size = match frame {
                    Frame::Seq { items, size, .. } => {
                        *size = size.saturating_add(node.size);
                        items.push(node);
                        *size
                    }
                    Frame::Map {
                        entries, key, size, ..
                    } => {
                        *size = size.saturating_add(node.size);
                        match key.take() {
                            None => *key = Some(node),
                            Some(k) => entries.push((k, node)),
                        }
                        *size
                    }
                };
                if size > MAX_EXPANDED_NODES {
                    return Err(error(
                        &span,
                        format!(
                            "more than {MAX_EXPANDED_NODES} nodes once aliases are expanded (an alias bomb?)"
                        ),
                    ));
                }
            }
        }
    }
    Ok(docs)
}

fn register(anchors: &mut Vec<Option<Rc<Node>>>, id: usize, node: &Rc<Node>) {
    if id == 0 {
        return;
    }
    if anchors.len() <= id {
        anchors.resize(id + 1, None);
    }
    anchors[id] = Some(Rc::clone(node));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Rc<Node> {
        let docs = parse_stream(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs.len(), 1);
        Rc::clone(&docs[0].root)
    }

    #[test]
    fn positions_are_one_based_and_keys_have_theirs() {
        let root = one("a:\n  b: [1, two]\n  c: \"true\"\n  d: true\n");
        let (k, v) = root
            .path(&["a"])
            .and_then(|a| a.entry("b"))
            .unwrap_or_else(|| panic!("b"));
        assert_eq!((k.line, k.column), (2, 3));
        assert_eq!(v.seq().len(), 2);
        assert_eq!(v.seq()[1].str(), Some("two"));
        assert_eq!(v.seq()[0].int(), Some(1));
        assert!(!root.path(&["a", "c"]).is_some_and(|n| n.is_true()));
        assert!(root.path(&["a", "d"]).is_some_and(|n| n.is_true()));
    }

    #[test]
    fn documents_and_their_start_lines() {
        let docs = parse_stream("---\n# Source: x\na: 1\n---\n---\nb: 2\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let starts: Vec<usize> = docs.iter().map(|d| d.start_line).collect();
        assert_eq!(starts, [1, 5]);
        assert_eq!(docs[1].root.get("b").and_then(|n| n.int()), Some(2));
    }

    #[test]
    fn merge_keys_give_way_to_written_keys() {
        let root = one("base: &b {user: root, image: x}\nsvc:\n  <<: *b\n  image: y\n");
        let svc = root.get("svc").unwrap_or_else(|| panic!("svc"));
        assert_eq!(svc.get("image").and_then(|n| n.str()), Some("y"));
        assert_eq!(svc.get("user").and_then(|n| n.str()), Some("root"));
        let keys: Vec<&str> = svc
            .all_entries()
            .iter()
            .filter_map(|(k, _)| k.str())
            .collect();
        assert_eq!(keys, ["image", "user"]);
    }

    #[test]
    fn an_alias_bomb_is_refused_without_expanding_it() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_stream(&text)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(e.message.contains("alias bomb"), "{e}");
        assert_eq!(e.line, 6, "{e}"); // a5 has 1,111,111 nodes: the first over the limit
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let e = parse_stream(&text)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(e.message.contains("nested deeper"), "{e}");
        let text = "[".repeat(50) + &"]".repeat(50);
        assert_eq!(parse_stream(&text).map(|d| d.len()), Ok(1));
    }

    #[test]
    fn malformed_yaml_has_a_position() {
        let e = parse_stream("a: [1, 2\nb: 3\n")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(e.line >= 1 && e.column >= 1, "{e}");
        let e = parse_stream("a: *nothing\n")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(e.message.contains("unknown anchor") || e.line == 1, "{e}");
    }
}

/// Where each value of a document converted by [`to_json`] was written, by its path in the
/// syntax of `serde_path_to_error` (`elements.web.type`, `flows[0].to`; `""` is the root): its
/// 1-based line and column. A mapping entry is at its key.
pub type Positions = std::collections::HashMap<String, (usize, usize)>;

/// Why a tree could not become JSON: a key that is not text, or a key written twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    /// The path of the mapping (or the entry) at fault.
    pub path: String,
    pub message: String,
}

/// A YAML tree as JSON, recording every value's position in `positions`, so a reader that
/// deserialises the JSON (with `serde_path_to_error`) can name the line of the value it refused.
/// Plain scalars are typed as YAML 1.2's core schema does (null, booleans, integers, finite
/// decimals); quoted and block scalars are always strings.
pub fn to_json(node: &Node, positions: &mut Positions) -> Result<serde_json::Value, JsonError> {
    to_json_at(node, String::new(), positions)
}

fn to_json_at(
    node: &Node,
    path: String,
    positions: &mut Positions,
) -> Result<serde_json::Value, JsonError> {
    use serde_json::{Map, Number, Value as J};
    positions.insert(path.clone(), (node.line, node.column));
    Ok(match &node.value {
        Value::Scalar { text, plain } => {
            if !*plain {
                J::String(text.clone())
            } else if node.is_null() {
                J::Null
            } else if node.is_true() {
                J::Bool(true)
            } else if node.is_false() {
                J::Bool(false)
            } else if let Ok(i) = text.parse::<i64>() {
                J::Number(i.into())
            } else if let Some(n) = text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && text.chars().any(|c| c.is_ascii_digit()))
                .and_then(Number::from_f64)
            {
                J::Number(n)
            } else {
                J::String(text.clone())
            }
        }
        Value::Seq(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| to_json_at(n, format!("{path}[{i}]"), positions))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(_) => {
            let mut map = Map::new();
            for (k, v) in node.all_entries() {
                let Some(key) = k.str() else {
                    return Err(JsonError {
                        line: k.line,
                        column: k.column,
                        path,
                        message: "keys must be text".into(),
                    });
                };
                let child = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                if map.contains_key(key) {
                    return Err(JsonError {
                        line: k.line,
                        column: k.column,
                        path: child,
                        message: format!("`{key}` is written twice"),
                    });
                }
                let value = to_json_at(v, child.clone(), positions)?;
                // A mapping entry is reported at its key.
                positions.insert(child, (k.line, k.column));
                map.insert(key.to_string(), value);
            }
            J::Object(map)
        }
    })
}

/// The position of `path`, or of its nearest ancestor that has one (`(1, 1)` when none).
pub fn locate(positions: &Positions, path: &str) -> (usize, usize) {
    let mut p = path.to_string();
    loop {
        if let Some(pos) = positions.get(&p) {
            return *pos;
        }
        match p.rfind(['.', '[']) {
            Some(i) => p.truncate(i),
            None => return positions.get("").copied().unwrap_or((1, 1)),
        }
    }
}
