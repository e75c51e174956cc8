//! NIST Cybersecurity Framework 2.0 from its OSCAL catalog: functions, categories and
//! subcategories (withdrawn CSF 1.1 items skipped), current and target profiles, the
//! organisation's implementation tier, and the gap report.
//!
//! # Scoring
//!
//! CSF 2.0 does not score subcategories; it describes an organisation by a *current profile*
//! and a *target profile* (the outcomes it achieves and means to achieve) and by *tiers* that
//! characterise its governance and management of risk: 1 Partial, 2 Risk Informed,
//! 3 Repeatable, 4 Adaptive (NIST CSWP 29, §3 and Appendix B). To compare profiles, each
//! subcategory is given a level here, Palisade's scale and not NIST's:
//! 0 not achieved, 1 partially, 2 largely, 3 fully achieved, 4 fully and continuously improved.
//! A function's or category's figure is the average of its assessed subcategories (those with
//! both levels); its gap is target − current on those averages. The gap report lists every
//! subcategory whose current level is below its target, largest gap first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::answers::{self, Assessment, Given, Kind, Levels};
use crate::source;

/// The highest level of the profile scale.
pub const MAX_LEVEL: u8 = 4;

/// CSF 2.0's implementation tiers.
pub const TIERS: [(u8, &str); 4] = [
    (1, "Partial"),
    (2, "Risk Informed"),
    (3, "Repeatable"),
    (4, "Adaptive"),
];

pub fn tier_name(t: u8) -> &'static str {
    TIERS
        .iter()
        .find(|(n, _)| *n == t)
        .map(|(_, s)| *s)
        .unwrap_or("?")
}

/// What the levels mean (Palisade's scale).
pub const LEVEL_NAMES: [&str; 5] = [
    "not achieved",
    "partially achieved",
    "largely achieved",
    "fully achieved",
    "fully achieved and improved continuously",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subcategory {
    pub id: String,
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub id: String,
    pub title: String,
    pub subcategories: Vec<Subcategory>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Function {
    pub id: String,
    pub title: String,
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub path: PathBuf,
    pub title: String,
    /// The catalog's `metadata.version`.
    pub version: String,
    pub version_declared: bool,
    pub functions: Vec<Function>,
}

fn prop<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get("props")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")?
        .as_str()
}

fn withdrawn(v: &Value) -> bool {
    prop(v, "status") == Some("withdrawn")
}

fn statement(v: &Value) -> String {
    v.get("parts")
        .and_then(Value::as_array)
        .and_then(|ps| {
            ps.iter()
                .find(|p| p.get("name").and_then(Value::as_str) == Some("statement"))
        })
        .and_then(|p| p.get("prose"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn field<'a>(path: &Path, v: &'a Value, key: &str, what: &str) -> Result<&'a str, Error> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::file(path, format!("{what} without a `{key}`")))
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Load the CSF 2.0 OSCAL catalog (JSON).
pub fn load(path: &Path) -> Result<Model, Error> {
    let text = source::read_text(path, source::MAX_FILE_BYTES)?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> Result<Model, Error> {
    let v = source::json_value(path, text)?;
    let cat = v
        .get("catalog")
        .ok_or_else(|| Error::file(path, "not an OSCAL catalog (no `catalog`)"))?;
    let meta = cat
        .get("metadata")
        .ok_or_else(|| Error::file(path, "the catalog has no `metadata`"))?;
    let title = field(path, meta, "title", "the catalog's metadata")?.to_string();
    let version = field(path, meta, "version", "the catalog's metadata")?.to_string();
    let mut functions = Vec::new();
    let mut seen = BTreeSet::new();
    for g in list(cat, "groups") {
        if g.get("class").and_then(Value::as_str) != Some("function") || withdrawn(g) {
            continue;
        }
        let id = field(path, g, "id", "a function")?;
        let mut categories = Vec::new();
        for c in list(g, "controls") {
            if c.get("class").and_then(Value::as_str) != Some("category") || withdrawn(c) {
                continue;
            }
            let cid = field(path, c, "id", "a category")?;
            let mut subs = Vec::new();
            for s in list(c, "controls") {
                if s.get("class").and_then(Value::as_str) != Some("subcategory") || withdrawn(s) {
                    continue;
                }
                let sid = field(path, s, "id", "a subcategory")?;
                if !seen.insert(sid.to_string()) {
                    return Err(Error::file(
                        path,
                        format!("subcategory {sid} is listed twice"),
                    ));
                }
                subs.push(Subcategory {
                    id: sid.to_string(),
                    statement: statement(s),
                });
            }
            categories.push(Category {
                id: cid.to_string(),
                title: field(path, c, "title", "a category")?.to_string(),
                subcategories: subs,
            });
        }
        functions.push(Function {
            id: id.to_string(),
            title: field(path, g, "title", "a function")?.to_string(),
            categories,
        });
    }
    if functions.is_empty() {
        return Err(Error::file(
            path,
            "no CSF functions in this catalog (groups of class `function`)",
        ));
    }
    Ok(Model {
        path: path.to_path_buf(),
        title,
        version,
        version_declared: true,
        functions,
    })
}

impl Model {
    pub fn subcategories(&self) -> impl Iterator<Item = (&Function, &Category, &Subcategory)> {
        self.functions.iter().flat_map(|f| {
            f.categories
                .iter()
                .flat_map(move |c| c.subcategories.iter().map(move |s| (f, c, s)))
        })
    }

    pub fn ids(&self) -> BTreeSet<String> {
        self.subcategories().map(|(_, _, s)| s.id.clone()).collect()
    }

    /// Current and target levels of an assessment, checked (0–4), by subcategory.
    pub fn profiles(
        &self,
        a: &Assessment,
        allow_unknown: bool,
    ) -> Result<Vec<(String, Levels)>, Error> {
        let ids = self.ids();
        let mut out = Vec::new();
        for (id, ans) in &a.answers {
            if !ids.contains(id) {
                if allow_unknown {
                    continue;
                }
                let hint = answers::suggest(id, ids.iter().map(String::as_str))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(a.error_at(
                    id,
                    format!("`{id}` is not a subcategory of CSF {}{hint}", self.version),
                ));
            }
            let l = match &ans.given {
                Given::Nothing => continue,
                Given::Levels(l) => *l,
                _ => {
                    return Err(a.error_at(
                        id,
                        format!("`{id}`: a CSF answer is `{{ current: 0–{MAX_LEVEL}, target: 0–{MAX_LEVEL} }}`"),
                    ));
                }
            };
            for x in [l.current, l.target].into_iter().flatten() {
                if x > MAX_LEVEL {
                    return Err(a.error_at(id, format!("`{id}`: level {x} is above {MAX_LEVEL}")));
                }
            }
            out.push((id.clone(), l));
        }
        if let Some(t) = a.tier {
            for x in [t.current, t.target].into_iter().flatten() {
                if !(1..=4).contains(&x) {
                    return Err(Error::at(
                        &a.file,
                        a.line,
                        1,
                        format!("tier {x}: tiers are 1 (Partial) to 4 (Adaptive)"),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The gap report.
    pub fn gaps(&self, profiles: &[(String, Levels)], tier: Option<Levels>) -> GapReport {
        let get = |id: &str| {
            profiles
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, l)| *l)
                .unwrap_or_default()
        };
        let figure = |subs: &mut dyn Iterator<Item = &Subcategory>| {
            let mut f = Figure::default();
            let (mut c, mut t) = (0.0, 0.0);
            for s in subs {
                f.subcategories += 1;
                let l = get(&s.id);
                if let (Some(cur), Some(tar)) = (l.current, l.target) {
                    f.assessed += 1;
                    c += f64::from(cur);
                    t += f64::from(tar);
                    if cur < tar {
                        f.with_gap += 1;
                    }
                }
            }
            if f.assessed > 0 {
                f.current = Some(c / f.assessed as f64);
                f.target = Some(t / f.assessed as f64);
            }
            f
        };
        let functions = self
            .functions
            .iter()
            .map(|f| FunctionGap {
                id: f.id.clone(),
                title: f.title.clone(),
                figure: figure(&mut f.categories.iter().flat_map(|c| c.subcategories.iter())),
                categories: f
                    .categories
                    .iter()
                    .map(|c| CategoryGap {
                        id: c.id.clone(),
                        title: c.title.clone(),
                        figure: figure(&mut c.subcategories.iter()),
                    })
                    .collect(),
            })
            .collect();
        let mut gaps: Vec<SubcategoryGap> = self
            .subcategories()
            .filter_map(|(f, c, s)| {
                let l = get(&s.id);
                match (l.current, l.target) {
                    (Some(cur), Some(tar)) if cur < tar => Some(SubcategoryGap {
                        id: s.id.clone(),
                        function: f.id.clone(),
                        category: c.id.clone(),
                        statement: s.statement.clone(),
                        current: cur,
                        target: tar,
                        gap: tar - cur,
                    }),
                    _ => None,
                }
            })
            .collect();
        // Largest gap first; the catalog's order among equals.
        gaps.sort_by_key(|g| std::cmp::Reverse(g.gap));
        let all = figure(&mut self.subcategories().map(|(_, _, s)| s));
        GapReport {
            tier,
            overall: all,
            functions,
            gaps,
        }
    }

    /// The answers template: the organisational tier, then every active subcategory.
    pub fn template(&self, date: &str, team: Option<&str>) -> String {
        let mut out = answers::template_head(Kind::Csf, &self.version, date, team);
        out.push_str("    # The organisation's implementation tier: 1 Partial, 2 Risk Informed, 3 Repeatable, 4 Adaptive.\n    tier: { current: ~, target: ~ }\n");
        out.push_str("    # Each subcategory: current and target level, 0 not achieved, 1 partially, 2 largely,\n    # 3 fully achieved, 4 fully and improved continuously (Palisade's scale; see docs/maturity.md).\n    answers:\n");
        for f in &self.functions {
            for c in &f.categories {
                out.push_str(&format!(
                    "\n{}",
                    answers::comment(
                        "      ",
                        &format!("── {} › {} ({}) ──", f.title, c.title, c.id)
                    )
                ));
                for s in &c.subcategories {
                    out.push_str(&answers::comment(
                        "      ",
                        &format!("{}: {}", s.id, s.statement),
                    ));
                    out.push_str(&format!("      {}: {{ current: ~, target: ~ }}\n", s.id));
                }
            }
        }
        out
    }
}

/// Averages of a function's, category's or the whole profile's assessed subcategories.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Figure {
    pub subcategories: usize,
    /// With both a current and a target level.
    pub assessed: usize,
    pub with_gap: usize,
    pub current: Option<f64>,
    pub target: Option<f64>,
}

impl Figure {
    pub fn gap(&self) -> Option<f64> {
        Some(self.target? - self.current?)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryGap {
    pub id: String,
    pub title: String,
    pub figure: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionGap {
    pub id: String,
    pub title: String,
    pub figure: Figure,
    pub categories: Vec<CategoryGap>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubcategoryGap {
    pub id: String,
    pub function: String,
    pub category: String,
    pub statement: String,
    pub current: u8,
    pub target: u8,
    pub gap: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapReport {
    pub tier: Option<Levels>,
    pub overall: Figure,
    pub functions: Vec<FunctionGap>,
    /// Subcategories below target, largest gap first.
    pub gaps: Vec<SubcategoryGap>,
}
