//! Rules as data: TOML or YAML files of `[[rule]]` entries whose `when` is a condition
//! ([`crate::cond`]) over the attributes of the element or flow the rule targets.
//!
//! ```toml
//! [[rule]]
//! id = "ACME-S01"
//! title = "{name} accepts callers it does not authenticate"
//! stride = "spoofing"
//! target = "process"                 # external-entity, process, data-store, element, flow, or a list
//! when = 'element.internet_facing and (not element.authentication or element.authentication == "none")'
//! likelihood = "high"                # low, medium, high, critical
//! impact = "data"                    # a level, or "data": from the classification of the data involved
//! cwe = [306]
//! capec = [115]
//! rationale = "Anyone who can reach it can act as any user."
//! mitigations = ["Require authentication on every route that is not deliberately public."]
//! [rule.examples]                    # tested: the first model raises the threat, the second does not
//! raises = "elements: { web: { type: process, internet_facing: true } }"
//! silent = "elements: { web: { type: process, internet_facing: true, authentication: sso } }"
//! ```
//!
//! Every path a condition reads is checked when the rule is loaded (a misspelt attribute is an
//! error with the rules file, line and column), so a rule cannot silently never fire.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cond::{self, Expr};
use crate::model::{ATTRIBUTES, ElementKind, Level, On};

/// Largest rules file read.
pub const MAX_RULES_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The six STRIDE categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stride {
    Spoofing,
    Tampering,
    Repudiation,
    InformationDisclosure,
    DenialOfService,
    ElevationOfPrivilege,
}

impl Stride {
    pub const ALL: [Stride; 6] = [
        Stride::Spoofing,
        Stride::Tampering,
        Stride::Repudiation,
        Stride::InformationDisclosure,
        Stride::DenialOfService,
        Stride::ElevationOfPrivilege,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stride::Spoofing => "spoofing",
            Stride::Tampering => "tampering",
            Stride::Repudiation => "repudiation",
            Stride::InformationDisclosure => "information-disclosure",
            Stride::DenialOfService => "denial-of-service",
            Stride::ElevationOfPrivilege => "elevation-of-privilege",
        }
    }

    /// The category's title.
    pub fn title(self) -> &'static str {
        match self {
            Stride::Spoofing => "Spoofing",
            Stride::Tampering => "Tampering",
            Stride::Repudiation => "Repudiation",
            Stride::InformationDisclosure => "Information disclosure",
            Stride::DenialOfService => "Denial of service",
            Stride::ElevationOfPrivilege => "Elevation of privilege",
        }
    }

    /// The category's letter.
    pub fn letter(self) -> char {
        self.title().chars().next().unwrap_or('?')
    }

    /// The property the category threatens, in the words of the data classification: which of
    /// confidentiality, integrity, availability an "impact from data" rule reads.
    pub fn data_properties(self) -> &'static [&'static str] {
        match self {
            Stride::Spoofing => &["confidentiality", "integrity"],
            Stride::Tampering | Stride::Repudiation => &["integrity"],
            Stride::InformationDisclosure => &["confidentiality"],
            Stride::DenialOfService => &["availability"],
            Stride::ElevationOfPrivilege => &["confidentiality", "integrity", "availability"],
        }
    }
}

/// What a rule is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    ExternalEntity,
    Process,
    DataStore,
    /// Any element.
    Element,
    Flow,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::ExternalEntity => "external-entity",
            Target::Process => "process",
            Target::DataStore => "data-store",
            Target::Element => "element",
            Target::Flow => "flow",
        }
    }

    pub fn matches(self, kind: ElementKind) -> bool {
        match self {
            Target::Element => true,
            Target::ExternalEntity => kind == ElementKind::ExternalEntity,
            Target::Process => kind == ElementKind::Process,
            Target::DataStore => kind == ElementKind::DataStore,
            Target::Flow => false,
        }
    }
}

/// How bad it is when the threat happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Fixed(Level),
    /// From the classification of the data the element holds or the flow carries (the
    /// property the STRIDE category threatens), medium when none is classified.
    Data,
}

/// Two models that show what a rule means.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// A model in which the rule raises a threat.
    pub raises: String,
    /// A model in which it does not.
    pub silent: String,
}

/// A loaded rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub stride: Stride,
    pub targets: Vec<Target>,
    pub when: String,
    #[serde(skip)]
    pub expr: Expr,
    pub likelihood: Level,
    pub impact: Impact,
    pub cwe: Vec<u32>,
    pub capec: Vec<u32>,
    pub rationale: String,
    pub mitigations: Vec<String>,
    pub references: Vec<String>,
    pub examples: Option<Examples>,
    /// Where the rule was written.
    pub file: PathBuf,
    pub line: usize,
}

impl Rule {
    pub fn targets_flows(&self) -> bool {
        self.targets.contains(&Target::Flow)
    }
}

/// A rules file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default, alias = "rules")]
    rule: Vec<toml::Spanned<RuleDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Target),
    Many(Vec<Target>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    title: String,
    stride: Stride,
    target: OneOrMany,
    when: toml::Spanned<String>,
    likelihood: Level,
    impact: String,
    #[serde(default)]
    cwe: Vec<u32>,
    #[serde(default)]
    capec: Vec<u32>,
    rationale: String,
    #[serde(default)]
    mitigations: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    examples: Option<Examples>,
}

/// A rule file's problem, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// The rules an analysis applies, in order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

/// The built-in rules files, one per STRIDE category.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "rules/spoofing.toml",
        include_str!("../rules/spoofing.toml"),
    ),
    (
        "rules/tampering.toml",
        include_str!("../rules/tampering.toml"),
    ),
    (
        "rules/repudiation.toml",
        include_str!("../rules/repudiation.toml"),
    ),
    (
        "rules/information-disclosure.toml",
        include_str!("../rules/information-disclosure.toml"),
    ),
    (
        "rules/denial-of-service.toml",
        include_str!("../rules/denial-of-service.toml"),
    ),
    (
        "rules/elevation-of-privilege.toml",
        include_str!("../rules/elevation-of-privilege.toml"),
    ),
];

impl RuleSet {
    /// Palisade's built-in rules.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN {
            match parse_toml(Path::new(name), text) {
                Ok(rules) => set.rules.extend(rules),
                // The built-in files are tested to load; a broken one is a build defect.
                Err(errors) => panic!("built-in rules {name} do not load: {}", errors[0]),
            }
        }
        set
    }

    /// Add rules, refusing an id that is already taken.
    pub fn extend(&mut self, rules: Vec<Rule>) -> Result<(), Vec<RuleError>> {
        let mut errors = Vec::new();
        for r in rules {
            if let Some(prev) = self.rules.iter().find(|p| p.id == r.id) {
                errors.push(RuleError {
                    file: r.file.clone(),
                    line: r.line,
                    column: 1,
                    message: format!(
                        "rule id `{}` is already used by {}:{}",
                        r.id,
                        prev.file.display(),
                        prev.line
                    ),
                });
            } else {
                self.rules.push(r);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Read a rules file: TOML (`.toml`) or YAML (anything else).
pub fn load_file(path: &Path) -> Result<Vec<Rule>, Vec<RuleError>> {
    let fail = |message: String| {
        vec![RuleError {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            message,
        }]
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if meta.len() > MAX_RULES_FILE_BYTES {
        return Err(fail(format!(
            "{} bytes; a rules file may be at most {MAX_RULES_FILE_BYTES}",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("cannot read it as UTF-8 text: {e}")))?;
    if path.extension().is_some_and(|e| e == "toml") {
        parse_toml(path, &text)
    } else {
        parse_yaml(path, &text)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Rules from TOML text.
pub fn parse_toml(file: &Path, text: &str) -> Result<Vec<Rule>, Vec<RuleError>> {
    let parsed: RulesFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        vec![RuleError {
            file: file.to_path_buf(),
            line,
            column,
            message: e.message().to_string(),
        }]
    })?;
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for spanned in parsed.rule {
        let (line, _) = line_col(text, spanned.span().start);
        let def = spanned.into_inner();
        // The condition's own position: a multi-line literal starts on the next line.
        let when_span = def.when.span();
        let (when_line, when_col) = line_col(text, when_span.start);
        let raw = &text[when_span.clone()];
        let quote = raw.find(['"', '\'']).map_or(0, |q| q + 1);
        let quote = if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
            3
        } else {
            quote
        };
        match build(file, line, def) {
            Ok(r) => rules.push(r),
            Err(BuildError::Cond(e)) => errors.push(RuleError {
                file: file.to_path_buf(),
                line: when_line,
                column: when_col + quote + e.column - 1,
                message: format!("in `when`: {}", e.message),
            }),
            Err(BuildError::Other(message)) => errors.push(RuleError {
                file: file.to_path_buf(),
                line,
                column: 1,
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// Rules from YAML text (`rules:` or `rule:`, a list of the same fields).
pub fn parse_yaml(file: &Path, text: &str) -> Result<Vec<Rule>, Vec<RuleError>> {
    let err = |line, column, message: String| RuleError {
        file: file.to_path_buf(),
        line,
        column,
        message,
    };
    let docs = palisade_yaml::parse_stream(text).map_err(|e| {
        vec![err(
            e.line,
            e.column,
            format!("not valid YAML: {}", e.message),
        )]
    })?;
    let Some(doc) = docs.first() else {
        return Ok(Vec::new());
    };
    let list = doc
        .root
        .get("rules")
        .or_else(|| doc.root.get("rule"))
        .ok_or_else(|| {
            vec![err(
                doc.root.line,
                doc.root.column,
                "a rules file has a `rules:` list".into(),
            )]
        })?;
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for item in list.seq() {
        let mut positions = Default::default();
        let value = match crate::model::yaml_to_json(item, &mut positions) {
            Ok(v) => v,
            Err(e) => {
                errors.push(err(e.0, e.1, e.3));
                continue;
            }
        };
        // The YAML form has no spans: read the same definition with plain strings.
        let mut obj = value;
        let when_pos = crate::model::position(&positions, "when");
        let def: Result<RuleDefPlain, _> = serde_path_to_error::deserialize(obj.take());
        match def {
            Ok(d) => match build(file, item.line, d.into_def()) {
                Ok(r) => rules.push(r),
                Err(BuildError::Cond(e)) => errors.push(err(
                    when_pos.0,
                    when_pos.1 + e.column,
                    format!("in `when`: {}", e.message),
                )),
                Err(BuildError::Other(m)) => errors.push(err(item.line, item.column, m)),
            },
            Err(e) => {
                let path = e.path().to_string();
                let (line, column) = crate::model::position(&positions, &path);
                errors.push(err(line, column, format!("{path}: {}", e.into_inner())));
            }
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDefPlain {
    id: String,
    title: String,
    stride: Stride,
    target: OneOrMany,
    when: String,
    likelihood: Level,
    impact: String,
    #[serde(default)]
    cwe: Vec<u32>,
    #[serde(default)]
    capec: Vec<u32>,
    rationale: String,
    #[serde(default)]
    mitigations: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    examples: Option<Examples>,
}

impl RuleDefPlain {
    fn into_def(self) -> RuleDef {
        RuleDef {
            id: self.id,
            title: self.title,
            stride: self.stride,
            target: self.target,
            when: toml::Spanned::new(0..0, self.when),
            likelihood: self.likelihood,
            impact: self.impact,
            cwe: self.cwe,
            capec: self.capec,
            rationale: self.rationale,
            mitigations: self.mitigations,
            references: self.references,
            examples: self.examples,
        }
    }
}

enum BuildError {
    Cond(cond::CondError),
    Other(String),
}

fn build(file: &Path, line: usize, def: RuleDef) -> Result<Rule, BuildError> {
    if !crate::model::valid_id(&def.id) {
        return Err(BuildError::Other(format!(
            "rule id `{}`: 1 to 128 letters, digits, `-`, `_` or `.`",
            def.id
        )));
    }
    let targets = match def.target {
        OneOrMany::One(t) => vec![t],
        OneOrMany::Many(v) if !v.is_empty() => v,
        OneOrMany::Many(_) => {
            return Err(BuildError::Other(format!(
                "rule `{}`: `target` names at least one kind",
                def.id
            )));
        }
    };
    if targets.contains(&Target::Flow) && targets.len() > 1 {
        return Err(BuildError::Other(format!(
            "rule `{}`: a rule targets flows or elements, not both (write two rules)",
            def.id
        )));
    }
    let impact = match def.impact.as_str() {
        "data" => Impact::Data,
        s => Impact::Fixed(Level::parse(s).ok_or_else(|| {
            BuildError::Other(format!(
                "rule `{}`: impact `{s}` is not low, medium, high, critical or data",
                def.id
            ))
        })?),
    };
    let when = def.when.into_inner();
    let expr = cond::parse(&when).map_err(BuildError::Cond)?;
    let flow = targets.contains(&Target::Flow);
    for path in expr.paths() {
        if let Err(message) = check_path(path, flow) {
            let name = path.join(".");
            let column = when
                .find(&name)
                .map_or(1, |i| when[..i].chars().count() + 1);
            return Err(BuildError::Cond(cond::CondError { column, message }));
        }
    }
    if def.rationale.trim().is_empty() {
        return Err(BuildError::Other(format!(
            "rule `{}`: the rationale says why this is a threat",
            def.id
        )));
    }
    Ok(Rule {
        id: def.id,
        title: def.title,
        stride: def.stride,
        targets,
        when,
        expr,
        likelihood: def.likelihood,
        impact,
        cwe: def.cwe,
        capec: def.capec,
        rationale: def.rationale,
        mitigations: def.mitigations,
        references: def.references,
        examples: def.examples,
        file: file.to_path_buf(),
        line,
    })
}

/// Attributes every element has besides [`ATTRIBUTES`]: written ones and ones the analysis
/// derives.
pub const ELEMENT_FIELDS: &[(&str, &str)] = &[
    ("id", "The element's id."),
    ("name", "Its name."),
    ("type", "external-entity, process or data-store."),
    (
        "boundary",
        "The id of the innermost trust boundary around it.",
    ),
    (
        "boundaries",
        "Ids of every boundary around it, innermost first.",
    ),
    ("data", "Ids of the assets it processes or stores."),
    ("tags", "Its tags."),
    ("description", "Its description."),
    (
        "confidentiality",
        "Highest confidentiality of the data it holds or that flows in or out (unset when none is classified).",
    ),
    ("integrity", "Highest integrity of that data."),
    ("availability", "Highest availability of that data."),
    (
        "pii",
        "It handles personal data (stated, or from its assets or flows).",
    ),
    (
        "credentials",
        "It handles secrets (stated, or from its assets or flows).",
    ),
    ("inbound", "Number of flows into it."),
    ("outbound", "Number of flows out of it."),
    (
        "inbound_from_external",
        "A flow reaches it from an external entity.",
    ),
    (
        "inbound_across_boundary",
        "A flow reaches it across a trust boundary.",
    ),
    (
        "exposed",
        "Internet-facing, or reached from an external entity across a boundary.",
    ),
];

/// Fields of every flow besides [`ATTRIBUTES`].
pub const FLOW_FIELDS: &[(&str, &str)] = &[
    ("id", "The flow's id."),
    ("name", "Its name."),
    ("from", "The id of its source element."),
    ("to", "The id of its target element."),
    ("protocol", "Its protocol."),
    ("data", "Ids of the assets it carries."),
    ("bidirectional", "Data goes both ways."),
    ("tags", "Its tags."),
    ("description", "Its description."),
    (
        "crosses_boundary",
        "Its two ends are in different trust boundaries.",
    ),
    (
        "confidentiality",
        "Highest confidentiality of the data it carries.",
    ),
    ("integrity", "Highest integrity of that data."),
    ("availability", "Highest availability of that data."),
    ("pii", "It carries personal data."),
    ("credentials", "It carries secrets."),
    (
        "source",
        "Its source element: `flow.source.<any element attribute>`.",
    ),
    (
        "target",
        "Its target element: `flow.target.<any element attribute>`.",
    ),
];

fn element_known(name: &str) -> bool {
    ELEMENT_FIELDS.iter().any(|(n, _)| *n == name)
        || ATTRIBUTES
            .iter()
            .any(|a| a.name == name && a.on != On::Flow)
}

fn flow_known(name: &str) -> bool {
    FLOW_FIELDS.iter().any(|(n, _)| *n == name)
        || ATTRIBUTES
            .iter()
            .any(|a| a.name == name && a.on.allows_flow())
}

fn check_path(path: &[String], flow: bool) -> Result<(), String> {
    let name = path.join(".");
    let root = if flow { "flow" } else { "element" };
    match path.first().map(String::as_str) {
        Some(r) if r == root => {}
        Some(other) => {
            return Err(format!(
                "`{name}`: a {} rule reads `{root}.…`, not `{other}.…`",
                if flow { "flow" } else { "element" }
            ));
        }
        None => return Err("empty path".into()),
    }
    let rest = &path[1..];
    let element_path = |rest: &[String]| -> Result<(), String> {
        match rest {
            [] => Err(format!("`{name}` names no attribute")),
            [a, _, ..] if a == "attributes" => Ok(()),
            [a] if a == "attributes" => Err(format!(
                "`{name}`: name the custom attribute (`…attributes.owner`)"
            )),
            [a] if element_known(a) => Ok(()),
            [a] => Err(unknown(
                &name,
                a,
                ELEMENT_FIELDS
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(ATTRIBUTES.iter().map(|a| a.name)),
            )),
            _ => Err(format!("`{name}`: element attributes are not nested")),
        }
    };
    if !flow {
        return element_path(rest);
    }
    match rest {
        [end, tail @ ..] if end == "source" || end == "target" => {
            if tail.is_empty() {
                Err(format!(
                    "`{name}`: name an attribute of the {end} (`flow.{end}.type`)"
                ))
            } else {
                element_path(tail)
            }
        }
        [a, _, ..] if a == "attributes" => Ok(()),
        [a] if flow_known(a) => Ok(()),
        [a] => Err(unknown(
            &name,
            a,
            FLOW_FIELDS.iter().map(|(n, _)| *n).chain(
                ATTRIBUTES
                    .iter()
                    .filter(|x| x.on.allows_flow())
                    .map(|a| a.name),
            ),
        )),
        [] => Err(format!("`{name}` names no attribute")),
        _ => Err(format!("`{name}`: flow attributes are not nested")),
    }
}

fn unknown<'a>(path: &str, word: &str, all: impl Iterator<Item = &'a str>) -> String {
    let all: BTreeSet<&str> = all.collect();
    match crate::model::suggest(word, all.into_iter()) {
        Some(s) => format!("`{path}`: no attribute `{word}` (did you mean `{s}`?)"),
        None => format!("`{path}`: no attribute `{word}`; `palisade threat attributes` lists them"),
    }
}
