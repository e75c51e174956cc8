//! The rules, as data: `rules/rules.toml`, compiled into the binary. Each rule has a stable id,
//! the kind of file it applies to, a severity, a title, a rationale, a fix, the ids of the
//! corresponding checks of other tools, and positive and negative examples that
//! `tests/rules_examples.rs` runs. The logic of each check is Rust code keyed by the id
//! ([`crate::dockerfile`], [`crate::k8s`], [`crate::compose`]).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The built-in rules file.
pub const BUILTIN: &str = include_str!("../rules/rules.toml");

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// GitHub code scanning's `security-severity` (a CVSS-like score) for the level.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// The kind of file a rule applies to (and its examples are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Dockerfile,
    Kubernetes,
    Compose,
    /// Rules about the checks themselves (suppressions), in any file.
    Any,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Dockerfile => "dockerfile",
            FileKind::Kubernetes => "kubernetes",
            FileKind::Compose => "compose",
            FileKind::Any => "any",
        }
    }
}

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub kind: FileKind,
    pub severity: Severity,
    pub title: String,
    pub rationale: String,
    pub fix: String,
    /// The same check in other tools (hadolint `DLxxxx`, checkov `CKV_…`, kube-linter names).
    #[serde(default)]
    pub related: Vec<String>,
    pub positive: Vec<Example>,
    pub negative: Vec<Example>,
}

/// An example: a whole file. A positive example names the line the finding is on.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The file kind when the rule's is `any`.
    #[serde(default)]
    pub kind: Option<FileKind>,
    pub input: String,
    /// Positive examples: the line of the finding.
    #[serde(default)]
    pub line: Option<usize>,
}

impl Example {
    /// The kind of file this example is.
    pub fn file_kind(&self, rule: &Rule) -> FileKind {
        self.kind.unwrap_or(rule.kind)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rule: Vec<Rule>,
}

/// Parse a rules file (the built-in one; tests use it for broken ones). Errors carry the line
/// and column TOML gives.
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    toml::from_str::<RulesFile>(text)
        .map(|f| f.rule)
        .map_err(|e| e.to_string())
}

/// Every built-in rule, in file order.
pub fn builtin() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    // The file is compiled in and `tests/rules_examples.rs` parses it: it cannot fail at run
    // time in a binary whose tests passed.
    RULES.get_or_init(|| parse(BUILTIN).unwrap_or_else(|e| panic!("rules/rules.toml: {e}")))
}

/// The built-in rule `id`.
pub fn get(id: &str) -> Option<&'static Rule> {
    builtin().iter().find(|r| r.id == id)
}

/// `docs/config-rules.md`: every rule with its severity, title, rationale, fix, related checks
/// of other tools and examples. `tests/rules_examples.rs` keeps the file equal to this.
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "# Configuration rules (`palisade scan config`)\n\n\
         Generated from `crates/palisade-config/rules/rules.toml` by `rules::markdown()`; \
         `crates/palisade-config/tests/rules_examples.rs` fails when this file is out of date \
         (run it with `PALISADE_UPDATE_DOCS=1` to rewrite it).\n\n\
         Ids are stable: a rule is never renumbered and an id is never reused. Suppress a finding \
         with a reason: `# palisade:ignore ID reason: …` on the line before (any file), the \
         annotation `palisade.dev/ignore: \"ID: reason\"` on a Kubernetes object or its pod \
         template, or the label of the same name on a compose service. A suppression without a \
         reason is not applied and is reported as PAL-CFG-001.\n\n\
         | id | severity | applies to | title | same check elsewhere |\n|---|---|---|---|---|\n",
    );
    for r in builtin() {
        let _ = writeln!(
            s,
            "| [{id}](#{anchor}) | {sev} | {kind} | {title} | {related} |",
            id = r.id,
            anchor = r.id.to_ascii_lowercase(),
            sev = r.severity.as_str(),
            kind = r.kind.as_str(),
            title = r.title,
            related = if r.related.is_empty() {
                "—".to_string()
            } else {
                r.related.join(", ")
            },
        );
    }
    for r in builtin() {
        let _ = write!(
            s,
            "\n## {}\n\n**{}** · {} · {}\n\n{}\n\n**Fix:** {}\n",
            r.id,
            r.title,
            r.severity.as_str(),
            r.kind.as_str(),
            r.rationale.split_whitespace().collect::<Vec<_>>().join(" "),
            r.fix.split_whitespace().collect::<Vec<_>>().join(" "),
        );
        let lang = |e: &Example| match e.file_kind(r) {
            FileKind::Dockerfile => "dockerfile",
            _ => "yaml",
        };
        if let Some(p) = r.positive.first() {
            let _ = write!(
                s,
                "\nReported (line {}):\n\n```{}\n{}```\n",
                p.line.unwrap_or(0),
                lang(p),
                p.input
            );
        }
        if let Some(n) = r.negative.first() {
            let _ = write!(s, "\nNot reported:\n\n```{}\n{}```\n", lang(n), n.input);
        }
    }
    s
}
