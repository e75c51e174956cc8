//! Configuration checks: Dockerfiles, Kubernetes manifests (Helm-rendered output included) and
//! docker-compose files, against rules kept as data ([`rules`]) with stable ids.
//!
//! The checks are pure functions over text ([`check_text`]): a Dockerfile parser
//! ([`dockerfile::parse`]) and YAML trees with positions ([`yaml`]) feed the rules of
//! [`dockerfile`], [`k8s`] and [`compose`]; [`suppress`] applies the inline suppressions. Only
//! [`walk`] touches the file system (discovery, size cap, binary and encoding checks), and
//! [`report`] renders an [`Outcome`] as a table, JSON or SARIF. The crate knows nothing of the
//! server.

pub mod compose;
pub mod dockerfile;
pub mod finding;
pub mod image;
pub mod k8s;
pub mod report;
pub mod rules;
pub mod shell;
pub mod suppress;
pub mod walk;
pub use palisade_yaml as yaml;

use std::rc::Rc;

pub use finding::{Finding, Hit, Issue, Outcome, Stats, Suppression, SuppressionKind};
pub use rules::{FileKind, Rule, Severity};
use suppress::Suppressions;

/// How to read a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Dockerfile,
    /// A compose file (by its name): every document's `services` are checked.
    Compose,
    /// YAML: Kubernetes objects, and compose files recognised by their content.
    Yaml,
    /// A `.json` file met while walking: read as YAML (JSON is YAML) when it names an
    /// `apiVersion` and a `kind`, left alone otherwise (`package.json`, `tsconfig.json`, …).
    Json,
}

/// The kind of a file by its name, as the walk finds them: `Dockerfile`, `Dockerfile.*`,
/// `*.Dockerfile`, `Containerfile`, `Containerfile.*`; `docker-compose*.y[a]ml`,
/// `compose*.y[a]ml`; other `*.yaml`/`*.yml`; `*.json` (Kubernetes objects only). `None`: not
/// a configuration file.
pub fn kind_by_name(file_name: &str) -> Option<InputKind> {
    let lower = file_name.to_ascii_lowercase();
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.starts_with("containerfile.")
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
    {
        return Some(InputKind::Dockerfile);
    }
    let yaml = lower.ends_with(".yaml") || lower.ends_with(".yml");
    if yaml && (lower.starts_with("docker-compose") || lower.starts_with("compose")) {
        return Some(InputKind::Compose);
    }
    if lower.ends_with(".json") {
        return Some(InputKind::Json);
    }
    yaml.then_some(InputKind::Yaml)
}

/// The kind of a file named on the command line (or stdin) whose name says nothing: a
/// Dockerfile when its first instruction is `FROM` or `ARG` (after comments and blank lines),
/// YAML otherwise.
pub fn sniff(text: &str) -> InputKind {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let word = first
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if word == "FROM" || word == "ARG" {
        InputKind::Dockerfile
    } else {
        InputKind::Yaml
    }
}

/// Check the text of one file shown as `path`. Pure: findings (suppressed ones marked),
/// issues (a file that cannot be parsed) and counts.
pub fn check_text(path: &str, text: &str, kind: InputKind) -> Outcome {
    let mut out = Outcome::default();
    if kind == InputKind::Json && !(text.contains("\"apiVersion\"") && text.contains("\"kind\"")) {
        return out;
    }
    out.stats.files_checked = 1;
    match kind {
        InputKind::Dockerfile => match dockerfile::check(text) {
            Ok((hits, sup)) => {
                out.stats.dockerfiles = 1;
                finish(path, hits, Vec::new(), &sup, &mut out);
            }
            Err(e) => out.issues.push(
                Issue::error(path, format!("not a valid Dockerfile: {}", e.message))
                    .at(e.line, e.column),
            ),
        },
        InputKind::Compose | InputKind::Yaml | InputKind::Json => {
            check_yaml(path, text, kind, &mut out)
        }
    }
    out.finish();
    out
}

fn finish(
    path: &str,
    hits: Vec<Hit>,
    sources: Vec<Option<String>>,
    sup: &Suppressions,
    out: &mut Outcome,
) {
    let mut findings: Vec<Finding> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| Finding::from_hit(h, path, sources.get(i).cloned().flatten()))
        .collect();
    sup.apply(&hits, &mut findings);
    out.findings.extend(findings);
    out.findings.extend(
        sup.problems()
            .iter()
            .map(|h| Finding::from_hit(h, path, None)),
    );
}

fn check_yaml(path: &str, text: &str, kind: InputKind, out: &mut Outcome) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = match yaml::parse_stream(text) {
        Ok(d) => d,
        Err(e) if text.contains("{{") => {
            out.issues.push(Issue::warning(
                path,
                format!(
                    "not checked: looks like a template (`{{{{`), not YAML ({}:{}: {}); render it (e.g. `helm template … | palisade scan config -`) and check the output",
                    e.line, e.column, e.message
                ),
            ));
            return;
        }
        Err(e) => {
            out.issues.push(
                Issue::error(path, format!("not valid YAML: {}", e.message)).at(e.line, e.column),
            );
            return;
        }
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let comments: Vec<(usize, String, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start();
            t.strip_prefix('#')
                .map(|c| (i + 1, c.trim().to_string(), l.len() - t.len() + 1))
        })
        .collect();
    // Helm's `# Source: chart/templates/x.yaml` comments, by line.
    let sources: Vec<(usize, String)> = comments
        .iter()
        .filter_map(|(l, t, _)| {
            t.strip_prefix("Source:")
                .map(|s| (*l, s.trim().to_string()))
        })
        .collect();
    let mut sup = Suppressions::from_comments(&comments, &lines);
    let roots: Vec<&yaml::Node> = docs
        .iter()
        .map(|d| d.root.as_ref())
        .filter(|r| k8s::is_object(r))
        .collect();
    let no_token = k8s::service_accounts_without_token(&roots);
    let mut hits = Vec::new();
    let mut hit_sources = Vec::new();
    let mut prev_root_line = 0;
    let mut compose_docs = 0;
    for d in &docs {
        let root: &Rc<yaml::Node> = &d.root;
        let source = sources
            .iter()
            .rev()
            .find(|(l, _)| *l < root.line && *l > prev_root_line)
            .map(|(_, s)| s.clone());
        prev_root_line = root.line;
        let before = hits.len();
        if k8s::is_object(root) {
            out.stats.kubernetes_objects +=
                k8s::check_document(root, &no_token, &mut sup, &mut hits);
        } else if kind == InputKind::Compose || compose::is_compose(root) {
            compose_docs += 1;
            compose::check_document(root, &mut sup, &mut hits);
        }
        hit_sources.extend(std::iter::repeat_n(source, hits.len() - before));
    }
    if compose_docs > 0 {
        out.stats.compose_files = 1;
    }
    finish(path, hits, hit_sources, &sup, out);
}

/// Findings of `text` as `line:column RULE message` lines (suppressed ones marked), for tests:
/// `check(input, expect)` in the rust-analyzer style.
pub fn render_for_tests(text: &str, kind: InputKind) -> String {
    let o = check_text("test", text, kind);
    let mut s = String::new();
    for i in &o.issues {
        s.push_str(&format!("issue {}\n", i.display()));
    }
    for f in &o.findings {
        s.push_str(&format!(
            "{}:{} {} {}{}\n",
            f.line,
            f.column,
            f.rule_id,
            f.message,
            match &f.suppression {
                Some(sup) => format!(" [suppressed: {}]", sup.reason),
                None => String::new(),
            }
        ));
    }
    s
}
