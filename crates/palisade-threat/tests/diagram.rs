//! The data-flow diagram is checked from the geometry it writes: every element and boundary group
//! carries `data-id` and `data-kind`, and its first shape the box it occupies. The invariants —
//! elements never overlap, each lies inside all of its boundaries and outside every other, sibling
//! boundaries are apart — hold for the examples, for synthetic models and for random ones.
//! Threats come from rules written here, so these tests do not depend on the built-in set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use palisade_threat::diagram;
use palisade_threat::model::{self, Boundary, Element, ElementKind, Flow, Model};
use palisade_threat::rules::{self, RuleSet};
use palisade_threat::{Analysis, analyse};
use proptest::prelude::*;

const TODAY: (i32, u8, u8) = (2026, 12, 7);

const RULES: &str = r#"
[[rule]]
id = "T-EXPOSED"
title = "{name} is exposed"
stride = "spoofing"
target = "element"
when = "element.internet_facing"
likelihood = "high"
impact = "critical"
rationale = "Reachable by anyone."

[[rule]]
id = "T-PLAIN"
title = "{name} stores data in the clear"
stride = "information-disclosure"
target = "data-store"
when = "not element.encryption_at_rest"
likelihood = "low"
impact = "low"
rationale = "Disks get lost."

[[rule]]
id = "T-HTTP"
title = "{source} to {target} in the clear"
stride = "tampering"
target = "flow"
when = "not flow.encrypted"
likelihood = "medium"
impact = "medium"
rationale = "Anyone on the path can change it."
"#;

fn test_rules() -> RuleSet {
    RuleSet {
        rules: rules::parse_toml(Path::new("test.toml"), RULES).expect("the test rules load"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Box2 {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Box2 {
    fn overlaps(&self, o: &Box2) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn inside(&self, o: &Box2) -> bool {
        self.x > o.x && self.y > o.y && self.x + self.w < o.x + o.w && self.y + self.h < o.y + o.h
    }
}

/// What a diagram says about one element or boundary.
#[derive(Debug, Clone)]
struct Shape {
    kind: String,
    bbox: Box2,
    class: String,
    open: Option<usize>,
    badge: Option<String>,
    title: String,
}

/// The element and boundary groups of a diagram, by id.
fn shapes(svg: &str) -> (BTreeMap<String, Shape>, BTreeMap<String, Shape>) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let mut elements = BTreeMap::new();
    let mut boundaries = BTreeMap::new();
    for g in doc.descendants().filter(|n| n.has_tag_name("g")) {
        let (Some(id), Some(kind)) = (g.attribute("data-id"), g.attribute("data-kind")) else {
            continue;
        };
        let shape = g
            .children()
            .find(|c| c.attribute("class") == Some("shape"))
            .unwrap_or_else(|| panic!("{id} has no shape"));
        let num = |a: &str| -> f64 {
            shape
                .attribute(a)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{id}: no number {a}"))
        };
        let badge = g
            .descendants()
            .find(|c| c.attribute("class") == Some("badge"))
            .map(|b| {
                b.descendants()
                    .filter(|t| t.is_text())
                    .map(|t| t.text().unwrap_or(""))
                    .collect::<String>()
            });
        let title = g
            .children()
            .find(|c| c.has_tag_name("title"))
            .and_then(|t| t.text())
            .unwrap_or("")
            .to_string();
        let s = Shape {
            kind: kind.to_string(),
            bbox: Box2 {
                x: num("x"),
                y: num("y"),
                w: num("width"),
                h: num("height"),
            },
            class: g.attribute("class").unwrap_or("").to_string(),
            open: g.attribute("data-open").and_then(|v| v.parse().ok()),
            badge,
            title,
        };
        let map = if kind == "boundary" {
            &mut boundaries
        } else {
            &mut elements
        };
        assert!(map.insert(id.to_string(), s).is_none(), "{id} drawn twice");
    }
    (elements, boundaries)
}

/// Every geometric promise of the diagram of `m`; the first broken one.
fn check_layout(m: &Model, svg: &str) -> Result<(), String> {
    let (els, bds) = shapes(svg);
    if els.len() != m.elements.len() || bds.len() != m.boundaries.len() {
        return Err(format!(
            "{} elements and {} boundaries drawn, {} and {} in the model",
            els.len(),
            bds.len(),
            m.elements.len(),
            m.boundaries.len()
        ));
    }
    for (id, e) in &m.elements {
        let s = &els[id];
        if s.kind != e.kind.as_str() {
            return Err(format!("{id} drawn as {}", s.kind));
        }
    }
    let ids: Vec<&String> = els.keys().collect();
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            if els[*a].bbox.overlaps(&els[*b].bbox) {
                return Err(format!("elements {a} and {b} overlap"));
            }
        }
    }
    for (id, s) in &els {
        let chain: BTreeSet<&str> = m.boundary_chain(id).into_iter().collect();
        for (b, bs) in &bds {
            if chain.contains(b.as_str()) {
                if !s.bbox.inside(&bs.bbox) {
                    return Err(format!("element {id} is not inside its boundary {b}"));
                }
            } else if s.bbox.overlaps(&bs.bbox) {
                return Err(format!("element {id} overlaps boundary {b}, not its own"));
            }
        }
    }
    let bids: Vec<&String> = bds.keys().collect();
    for (i, a) in bids.iter().enumerate() {
        let pa = m.boundaries[*a].parent.as_deref();
        if let Some(p) = pa
            && !bds[*a].bbox.inside(&bds[p].bbox)
        {
            return Err(format!("boundary {a} is not inside its parent {p}"));
        }
        for b in &bids[i + 1..] {
            if m.boundaries[*b].parent.as_deref() == pa && bds[*a].bbox.overlaps(&bds[*b].bbox) {
                return Err(format!("sibling boundaries {a} and {b} overlap"));
            }
        }
    }
    Ok(())
}

/// Open threats per element id in an analysis: how many, and the highest severity.
fn open_by_element(a: &Analysis) -> BTreeMap<String, (usize, model::Level)> {
    let mut m: BTreeMap<String, (usize, model::Level)> = BTreeMap::new();
    for t in a
        .threats
        .iter()
        .filter(|t| t.status.is_open() && t.target.kind != "flow")
    {
        let e = m
            .entry(t.target.id.clone())
            .or_insert((0, model::Level::Low));
        e.0 += 1;
        e.1 = e.1.max(t.severity);
    }
    m
}

/// The badges and colours of the drawing follow the analysis.
fn check_threats(m: &Model, a: &Analysis, svg: &str) -> Result<(), String> {
    let (els, _) = shapes(svg);
    let open = open_by_element(a);
    for id in m.elements.keys() {
        let s = &els[id];
        match open.get(id) {
            Some(&(n, worst)) => {
                let class = format!("sev-{worst}");
                if s.open != Some(n) || s.badge.as_deref() != Some(n.to_string().as_str()) {
                    return Err(format!(
                        "{id}: {n} open threats, drawn {:?} {:?}",
                        s.open, s.badge
                    ));
                }
                if !s.class.split(' ').any(|c| c == class) {
                    return Err(format!("{id}: highest open {worst}, class {}", s.class));
                }
            }
            None => {
                if s.open != Some(0) || s.badge.is_some() || !s.class.contains("sev-none") {
                    return Err(format!("{id}: no open threat, drawn {s:?}"));
                }
            }
        }
    }
    Ok(())
}

fn examples_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/threat-models/examples")
}

const EXAMPLES: [&str; 3] = ["webshop", "service-mesh", "palisade"];

#[test]
fn the_examples_load_and_their_diagrams_keep_the_invariants() {
    for name in EXAMPLES {
        let path = examples_dir().join(format!("{name}.yaml"));
        let m = model::load(&path).unwrap_or_else(|e| {
            panic!(
                "{name}: {}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert!(m.elements.len() >= 10, "{name}: a realistic example");
        assert!(!m.boundaries.is_empty(), "{name}: has trust boundaries");
        let a = analyse(&m, &test_rules(), TODAY);
        let svg = diagram::svg(&m, Some(&a));
        check_layout(&m, &svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_threats(&m, &a, &svg).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The committed diagrams of the examples are what the built-in rules give today; with
/// `PALISADE_UPDATE_DOCS` set they are rewritten.
#[test]
fn the_example_diagrams_are_up_to_date() {
    let update = std::env::var_os("PALISADE_UPDATE_DOCS").is_some();
    let builtin = RuleSet::builtin();
    let mut stale = Vec::new();
    for name in EXAMPLES {
        let path = examples_dir().join(format!("{name}.yaml"));
        let m = model::load(&path).unwrap_or_else(|e| panic!("{name}: {}", e[0]));
        let a = analyse(&m, &builtin, TODAY);
        for (ext, want) in [
            ("svg", diagram::svg(&m, Some(&a))),
            ("dot", diagram::dot(&m, Some(&a))),
        ] {
            let out = examples_dir().join(format!("{name}.{ext}"));
            if update {
                std::fs::write(&out, &want).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
            }
            if std::fs::read_to_string(&out).ok().as_deref() != Some(want.as_str()) {
                stale.push(out.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {}; run `PALISADE_UPDATE_DOCS=1 cargo nextest run -p palisade-threat --test diagram`",
        stale.join(", ")
    );
}

#[test]
fn synthetic_models_of_100_and_200_elements_keep_the_invariants() {
    for (n, seed) in [(10, 1), (100, 7), (200, 1)] {
        let text = palisade_threat::synthetic_model_yaml(n, seed);
        let m = model::from_str(Path::new("synthetic.yaml"), &text)
            .unwrap_or_else(|e| panic!("{n}: {}", e[0]));
        assert_eq!(m.elements.len(), n);
        assert!(
            m.flows.len() >= n * 3 / 2 - n / 10,
            "{n}: {} flows",
            m.flows.len()
        );
        let a = analyse(&m, &test_rules(), TODAY);
        let svg = diagram::svg(&m, Some(&a));
        check_layout(&m, &svg).unwrap_or_else(|e| panic!("{n}: {e}"));
        check_threats(&m, &a, &svg).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(text, palisade_threat::synthetic_model_yaml(n, seed));
    }
}

fn model_of(yaml: &str) -> Model {
    model::from_str(Path::new("m.yaml"), yaml).unwrap_or_else(|e| panic!("{}", e[0]))
}

#[test]
fn badges_and_colours_follow_the_open_threats() {
    let m = model_of(
        r#"
elements:
  gw: { type: process, internet_facing: true }
  db: { type: data-store, internet_facing: true }
  bucket: { type: data-store, encryption_at_rest: false }
  safe: { type: data-store, encryption_at_rest: true }
  done: { type: data-store }
flows:
  q: { from: gw, to: db, protocol: http }
threats:
  T-PLAIN@done: { status: mitigated, mitigation: "Encrypted volume" }
"#,
    );
    let a = analyse(&m, &test_rules(), TODAY);
    let svg = diagram::svg(&m, Some(&a));
    check_threats(&m, &a, &svg).unwrap();
    let (els, _) = shapes(&svg);
    assert_eq!(els["gw"].badge.as_deref(), Some("1"));
    assert!(
        els["gw"].class.contains("sev-critical"),
        "{}",
        els["gw"].class
    );
    // Two open on db: exposed (critical) and in the clear (low).
    assert_eq!(els["db"].badge.as_deref(), Some("2"));
    assert!(els["db"].class.contains("sev-critical"));
    assert!(els["bucket"].class.contains("sev-low"));
    assert!(els["safe"].class.contains("sev-none") && els["safe"].badge.is_none());
    // Mitigated is not open.
    assert!(els["done"].class.contains("sev-none") && els["done"].badge.is_none());
    // The flow's open threat (http: not encrypted, medium) marks its label.
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let label = doc
        .descendants()
        .find(|n| {
            n.attribute("data-id") == Some("q")
                && n.attribute("class")
                    .is_some_and(|c| c.starts_with("flow-label"))
        })
        .expect("the flow's label");
    assert!(
        label.attribute("class").unwrap().contains("sev-medium"),
        "{:?}",
        label.attribute("class")
    );
    // The legend explains the colours; without an analysis there are no badges and no severity.
    assert!(svg.contains("highest open: low") && svg.contains("critical"));
    let plain = diagram::svg(&m, None);
    let (els, _) = shapes(&plain);
    assert!(
        els.values()
            .all(|s| s.badge.is_none() && s.class.contains("sev-none"))
    );
    assert!(!plain.contains("highest open"));
}

#[test]
fn shapes_follow_the_element_kinds_and_bidirectional_flows_have_two_arrowheads() {
    let m = model_of(
        r#"
name: Kinds
boundaries:
  dmz: { name: DMZ }
elements:
  user: { type: external-entity, name: User }
  app: { type: process, name: App, boundary: dmz }
  db: { type: data-store, name: Database, boundary: dmz }
flows:
  use: { from: user, to: app, protocol: https, bidirectional: true }
  write: { from: app, to: db, name: Writes orders }
"#,
    );
    let svg = diagram::svg(&m, None);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let group = |id: &str| {
        doc.descendants()
            .find(|n| n.attribute("data-id") == Some(id) && n.attribute("data-kind").is_some())
            .unwrap()
    };
    let shape = |id: &str| {
        group(id)
            .children()
            .find(|c| c.attribute("class") == Some("shape"))
            .unwrap()
    };
    // External entity: a rectangle with (nearly) square corners; process: fully rounded ends.
    assert!(
        shape("user")
            .attribute("rx")
            .unwrap()
            .parse::<f64>()
            .unwrap()
            <= 4.0
    );
    let app = shape("app");
    let rx: f64 = app.attribute("rx").unwrap().parse().unwrap();
    let h: f64 = app.attribute("height").unwrap().parse().unwrap();
    assert!(rx * 2.0 >= h, "a process is a stadium");
    // Data store: two horizontal lines, no sides.
    let rule = group("db")
        .children()
        .find(|c| c.attribute("class") == Some("rule"))
        .expect("the data store's lines");
    assert_eq!(rule.attribute("d").unwrap().matches('H').count(), 2);
    assert!(svg.contains(".element.data-store .shape{stroke:none}"));
    // Flows: labels are the name, else the protocol; both ways has an arrowhead at each end.
    let flow = |id: &str| {
        doc.descendants()
            .find(|n| {
                n.attribute("data-id") == Some(id) && n.attribute("class") == Some("flow sev-none")
            })
            .unwrap()
    };
    let path = |id: &str| {
        flow(id)
            .children()
            .find(|c| c.has_tag_name("path"))
            .unwrap()
    };
    assert!(path("use").attribute("marker-start").is_some());
    assert!(path("use").attribute("marker-end").is_some());
    assert!(path("write").attribute("marker-start").is_none());
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.starts_with("flow-label"))
        })
        .filter_map(|n| n.children().find(|c| c.has_tag_name("text")))
        .filter_map(|t| t.text())
        .collect();
    assert_eq!(texts, ["https", "Writes orders"]);
    // The title, and the boundary's name.
    assert!(svg.contains(">Kinds</text>"));
    assert!(svg.contains(">DMZ</text>"));
    // A viewBox, SVG 1.1, a style block and no external resource.
    let root = doc.root_element();
    assert!(root.attribute("viewBox").is_some());
    assert_eq!(root.attribute("version"), Some("1.1"));
    assert!(doc.descendants().any(|n| n.has_tag_name("style")));
    for bad in ["@import", "url(http", "href", "@font-face"] {
        assert!(!svg.contains(bad), "{bad}");
    }
}

#[test]
fn long_names_are_shortened_with_an_ellipsis_and_shown_whole_in_a_tooltip() {
    let long = "Customer relationship management system of the European subsidiaries";
    let m = model_of(&format!(
        "elements:\n  crm: {{ type: process, name: \"{long}\" }}\n  b: {{ type: data-store }}\nflows:\n  f: {{ from: crm, to: b, name: \"{long}\" }}\n"
    ));
    let svg = diagram::svg(&m, None);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    // The element's name: on two lines, the second cut short.
    let element = doc
        .descendants()
        .find(|n| n.attribute("data-id") == Some("crm") && n.attribute("data-kind").is_some())
        .unwrap();
    let lines: Vec<&str> = element
        .children()
        .filter(|n| n.attribute("class") == Some("name"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "Customer relationship");
    assert!(
        lines[1].ends_with('…') && lines[1].chars().count() < 30,
        "{lines:?}"
    );
    // The flow's label: one line, cut short.
    let label = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("flow-label sev-none"))
        .and_then(|n| n.children().find(|c| c.has_tag_name("text")))
        .and_then(|t| t.text())
        .unwrap();
    assert!(
        label.starts_with("Customer") && label.ends_with('…') && label.chars().count() < 30,
        "{label}"
    );
    let (els, _) = shapes(&svg);
    assert!(els["crm"].title.contains(long));
    let tips = doc
        .descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter(|n| n.text() == Some(long))
        .count();
    assert_eq!(tips, 1, "the flow label's tooltip");
}

#[test]
fn hostile_names_are_escaped() {
    let hostile = r#"<script>alert("x")</script> & 'quotes' ]]> <!-- --> \u0001"#;
    let mut m = model_of(
        "elements:\n  a: { type: process }\n  b: { type: data-store }\nboundaries:\n  z: {}\nflows:\n  f: { from: a, to: b }\n",
    );
    m.name = Some(hostile.into());
    m.elements.get_mut("a").unwrap().name = Some(format!("{hostile}\u{1}\u{0}"));
    m.elements.get_mut("a").unwrap().description = Some(hostile.into());
    m.elements.get_mut("b").unwrap().boundary = Some("z".into());
    m.boundaries.get_mut("z").unwrap().name = Some(hostile.into());
    m.flows.get_mut("f").unwrap().name = Some(hostile.into());
    m.flows.get_mut("f").unwrap().protocol = Some(hostile.into());
    let svg = diagram::svg(&m, Some(&analyse(&m, &test_rules(), TODAY)));
    let doc = roxmltree::Document::parse(&svg).expect("still XML");
    assert!(
        !doc.descendants().any(|n| n.has_tag_name("script")),
        "no script element"
    );
    assert!(!svg.contains("<script"));
    // The text survives as text.
    assert!(
        doc.descendants()
            .filter_map(|n| n.text())
            .any(|t| t.contains("<script>alert(\"x\")"))
    );
    check_layout(&m, &svg).unwrap();
    // DOT: the quotes are escaped, so every statement still parses.
    let d = diagram::dot(&m, None);
    let g = parse_dot(&d).unwrap_or_else(|e| panic!("{e}\n{d}"));
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.edges.len(), 1);
}

/// A DOT graph as read back: nodes, edges and the clusters around each node (outermost first).
#[derive(Debug, Default)]
struct DotGraph {
    nodes: BTreeMap<String, Vec<String>>,
    edges: Vec<(String, String, BTreeMap<String, String>)>,
    node_attrs: BTreeMap<String, BTreeMap<String, String>>,
}

/// Read the subset of DOT that `diagram::dot` writes: quoted ids, `subgraph "…" {`, node and edge
/// statements with attribute lists, `key=value;` lines.
fn parse_dot(text: &str) -> Result<DotGraph, String> {
    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Str(String),
        Word(String),
        Punct(char),
        Arrow,
    }
    let mut toks = Vec::new();
    let cs: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match cs.get(i) {
                    None => return Err("unterminated string".into()),
                    Some('"') => break,
                    // `\"` is a quote; any other pair is kept as written (Graphviz reads `\\`
                    // as one backslash only in labels).
                    Some('\\') if cs.get(i + 1) == Some(&'"') => {
                        s.push('"');
                        i += 2;
                    }
                    Some('\\') if i + 1 < cs.len() => {
                        s.push('\\');
                        s.push(cs[i + 1]);
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            toks.push(Tok::Str(s));
        } else if c == '-' && cs.get(i + 1) == Some(&'>') {
            toks.push(Tok::Arrow);
            i += 2;
        } else if c.is_alphanumeric() || c == '_' || c == '.' || c == '#' {
            let mut s = String::new();
            while i < cs.len() && (cs[i].is_alphanumeric() || "_.#".contains(cs[i])) {
                s.push(cs[i]);
                i += 1;
            }
            toks.push(Tok::Word(s));
        } else if "{}[];,=".contains(c) {
            toks.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(format!("unexpected {c:?}"));
        }
    }
    let mut g = DotGraph::default();
    let mut clusters: Vec<String> = Vec::new();
    let mut depth = 0;
    let mut k = 0;
    let name = |t: &Tok| match t {
        Tok::Str(s) | Tok::Word(s) => Some(s.clone()),
        _ => None,
    };
    let attrs = |k: &mut usize| -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        if toks.get(*k) != Some(&Tok::Punct('[')) {
            return Ok(out);
        }
        *k += 1;
        while toks.get(*k) != Some(&Tok::Punct(']')) {
            let key = toks.get(*k).and_then(name).ok_or("attribute name")?;
            if toks.get(*k + 1) != Some(&Tok::Punct('=')) {
                return Err(format!("no = after {key}"));
            }
            let value = toks.get(*k + 2).and_then(name).ok_or("attribute value")?;
            out.insert(key, value);
            *k += 3;
            if toks.get(*k) == Some(&Tok::Punct(',')) {
                *k += 1;
            }
        }
        *k += 1;
        Ok(out)
    };
    while k < toks.len() {
        match &toks[k] {
            Tok::Word(w) if w == "digraph" => {
                k += 2;
                if toks.get(k) != Some(&Tok::Punct('{')) {
                    return Err("digraph without {".into());
                }
                depth += 1;
                k += 1;
            }
            Tok::Word(w) if w == "subgraph" => {
                let n = toks.get(k + 1).and_then(name).ok_or("subgraph name")?;
                if toks.get(k + 2) != Some(&Tok::Punct('{')) {
                    return Err("subgraph without {".into());
                }
                clusters.push(n);
                depth += 1;
                k += 3;
            }
            Tok::Word(w) if ["graph", "node", "edge"].contains(&w.as_str()) => {
                k += 1;
                attrs(&mut k)?;
                if toks.get(k) == Some(&Tok::Punct(';')) {
                    k += 1;
                }
            }
            Tok::Punct('}') => {
                depth -= 1;
                if depth > 0 {
                    clusters.pop();
                }
                k += 1;
            }
            Tok::Punct(';') => k += 1,
            t => {
                let first = name(t).ok_or(format!("unexpected {t:?}"))?;
                if toks.get(k + 1) == Some(&Tok::Punct('=')) {
                    // A cluster attribute.
                    k += 3;
                } else if toks.get(k + 1) == Some(&Tok::Arrow) {
                    let second = toks.get(k + 2).and_then(name).ok_or("edge end")?;
                    k += 3;
                    let a = attrs(&mut k)?;
                    g.edges.push((first, second, a));
                } else {
                    k += 1;
                    let a = attrs(&mut k)?;
                    if g.nodes.insert(first.clone(), clusters.clone()).is_some() {
                        return Err(format!("node {first} twice"));
                    }
                    g.node_attrs.insert(first, a);
                }
            }
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced braces ({depth})"));
    }
    Ok(g)
}

#[test]
fn dot_has_one_node_per_element_one_edge_per_flow_and_nested_clusters() {
    let m = model_of(
        r#"
name: "A \"quoted\" name"
boundaries:
  cloud: { name: Cloud }
  vpc: { name: VPC, parent: cloud }
  office: { name: "Office \\ HQ" }
elements:
  user: { type: external-entity, boundary: office }
  web: { type: process, boundary: vpc, internet_facing: true }
  db: { type: data-store, boundary: vpc }
  logs: { type: data-store, boundary: cloud, encryption_at_rest: true }
  free: { type: process }
flows:
  a: { from: user, to: web, protocol: https, bidirectional: true }
  b: { from: web, to: db, protocol: http }
  c: { from: web, to: logs }
  d: { from: free, to: web }
"#,
    );
    let a = analyse(&m, &test_rules(), TODAY);
    let d = diagram::dot(&m, Some(&a));
    let g = parse_dot(&d).unwrap_or_else(|e| panic!("{e}\n{d}"));
    assert_eq!(
        g.nodes.keys().collect::<Vec<_>>(),
        m.elements.keys().collect::<Vec<_>>()
    );
    assert_eq!(g.edges.len(), m.flows.len());
    for (id, f) in &m.flows {
        assert!(
            g.edges.iter().any(|(x, y, _)| *x == f.from && *y == f.to),
            "{id}"
        );
    }
    let both: Vec<_> = g
        .edges
        .iter()
        .filter(|(.., a)| a.get("dir").map(String::as_str) == Some("both"))
        .collect();
    assert_eq!(both.len(), 1);
    assert_eq!(g.nodes["web"], ["cluster_cloud", "cluster_vpc"]);
    assert_eq!(g.nodes["logs"], ["cluster_cloud"]);
    assert_eq!(g.nodes["user"], ["cluster_office"]);
    assert!(g.nodes["free"].is_empty());
    let shape = |id: &str| g.node_attrs[id]["shape"].clone();
    assert_eq!(shape("user"), "box");
    assert_eq!(shape("web"), "ellipse");
    assert_eq!(shape("db"), "cylinder");
    // The open threats are in the label and the colour.
    assert!(g.node_attrs["web"]["label"].contains("1 open · critical"));
    assert!(!g.node_attrs["logs"]["label"].contains("open"));
    assert_eq!(g.node_attrs["logs"]["fillcolor"], "#ffffff");
    assert_ne!(g.node_attrs["web"]["fillcolor"], "#ffffff");
    assert!(d.contains(r#"label="Office \\ HQ""#), "{d}");
}

/// A random model: `n` elements, `nb` boundaries nested at random (each inside an earlier one or
/// at the top), `nf` flows between random elements, some names hostile.
fn random_model(n: usize, nb: usize, nf: usize, seed: u64, names: &[String]) -> Model {
    let mut state = seed | 1;
    let mut next = move |k: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % k as u64) as usize
    };
    let mut m = Model::default();
    for b in 0..nb {
        let parent = (b > 0 && next(3) > 0).then(|| format!("b{}", next(b)));
        let boundary = Boundary {
            name: names.get(next(names.len() + 3)).cloned(),
            description: None,
            parent,
            origin: None,
        };
        m.boundaries.insert(format!("b{b}"), boundary);
    }
    let kinds = [
        ElementKind::ExternalEntity,
        ElementKind::Process,
        ElementKind::DataStore,
    ];
    for e in 0..n {
        let mut attrs = BTreeMap::new();
        if next(4) == 0 {
            attrs.insert("internet_facing".to_string(), serde_json::Value::Bool(true));
        }
        let el = Element {
            kind: kinds[next(3)],
            name: names.get(next(names.len() + 4)).cloned(),
            description: None,
            boundary: (nb > 0 && next(5) > 0).then(|| format!("b{}", next(nb))),
            data: Vec::new(),
            tags: Vec::new(),
            attributes: BTreeMap::new(),
            attrs,
            origin: None,
        };
        m.elements.insert(format!("e{e}"), el);
    }
    for f in 0..nf {
        if n < 2 {
            break;
        }
        let a = next(n);
        let b = (a + 1 + next(n - 1)) % n;
        let flow = Flow {
            from: format!("e{a}"),
            to: format!("e{b}"),
            name: names.get(next(names.len() + 2)).cloned(),
            description: None,
            protocol: ["https", "http", "grpc"]
                .get(next(4))
                .map(|s| s.to_string()),
            data: Vec::new(),
            bidirectional: next(2) == 0,
            tags: Vec::new(),
            attributes: BTreeMap::new(),
            attrs: BTreeMap::new(),
            origin: None,
        };
        m.flows.insert(format!("f{f}"), flow);
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn random_models_keep_the_invariants(
        n in 1usize..=100,
        nb in 0usize..=12,
        nf in 0usize..=160,
        seed in any::<u64>(),
        names in prop::collection::vec("[ -~]{0,40}|\\PC{0,16}", 0..6),
    ) {
        let m = random_model(n, nb, nf, seed, &names);
        let a = analyse(&m, &test_rules(), TODAY);
        let svg = diagram::svg(&m, Some(&a));
        if let Err(e) = check_layout(&m, &svg) {
            return Err(TestCaseError::fail(e));
        }
        if let Err(e) = check_threats(&m, &a, &svg) {
            return Err(TestCaseError::fail(e));
        }
        prop_assert_eq!(&svg, &diagram::svg(&m, Some(&a)), "deterministic");
        let d = diagram::dot(&m, Some(&a));
        let g = parse_dot(&d).map_err(TestCaseError::fail)?;
        prop_assert_eq!(g.nodes.len(), m.elements.len());
        prop_assert_eq!(g.edges.len(), m.flows.len());
        for (id, clusters) in &g.nodes {
            let want: Vec<String> = m
                .boundary_chain(id)
                .into_iter()
                .rev()
                .map(|b| format!("cluster_{b}"))
                .collect();
            prop_assert_eq!(clusters, &want);
        }
    }
}

#[test]
fn an_inconsistent_hand_built_model_is_still_drawn() {
    // What validation refuses, a caller building a model in code may still pass: unknown parents, a
    // loop of parents, an unknown boundary, flows to unknown elements or to themselves.
    let mut m = model_of(
        "boundaries:\n  a: {}\n  b: {}\n  c: {}\nelements:\n  x: { type: process, boundary: a }\n  y: { type: data-store, boundary: c }\n  z: { type: external-entity }\nflows:\n  f: { from: x, to: y }\n",
    );
    m.boundaries.get_mut("a").unwrap().parent = Some("b".into());
    m.boundaries.get_mut("b").unwrap().parent = Some("a".into());
    m.boundaries.get_mut("c").unwrap().parent = Some("nowhere".into());
    m.elements.get_mut("z").unwrap().boundary = Some("missing".into());
    let mut to_self = m.flows["f"].clone();
    to_self.to = "x".into();
    m.flows.insert("self".into(), to_self);
    let mut dangling = m.flows["f"].clone();
    dangling.from = "ghost".into();
    m.flows.insert("dangling".into(), dangling);
    let svg = diagram::svg(&m, None);
    let (els, bds) = shapes(&svg);
    assert_eq!(els.len(), 3);
    assert_eq!(bds.len(), 3);
    for (id, e) in &els {
        for (b, r) in &bds {
            if e.bbox.overlaps(&r.bbox) {
                assert!(e.bbox.inside(&r.bbox), "{id} half in {b}");
            }
        }
    }
    let d = diagram::dot(&m, None);
    let g = parse_dot(&d).unwrap_or_else(|e| panic!("{e}\n{d}"));
    assert_eq!(g.nodes.len(), 3);
    assert_eq!(g.edges.len(), 1, "only the flow between two known elements");
}

#[test]
fn long_chains_and_dense_cycles_are_laid_out_quickly_and_apart() {
    // 600 elements in one chain closed into a loop, and every element also flowing to the next
    // but two: the layering must stay linear-ish and the boxes apart.
    let n = 600;
    let mut text = String::from("elements:\n");
    for i in 0..n {
        text.push_str(&format!("  e{i}: {{ type: process }}\n"));
    }
    text.push_str("flows:\n");
    for i in 0..n {
        text.push_str(&format!("  a{i}: {{ from: e{i}, to: e{} }}\n", (i + 1) % n));
        text.push_str(&format!("  b{i}: {{ from: e{i}, to: e{} }}\n", (i + 3) % n));
    }
    let m = model_of(&text);
    let svg = diagram::svg(&m, None);
    check_layout(&m, &svg).unwrap();
}
