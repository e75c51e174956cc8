//! Reading a gitleaks TOML config (`--gitleaks-config`).
//!
//! Supported: `[[rules]]` with `id`, `description`, `regex`, `secretGroup`, `entropy`,
//! `keywords`, `path`, `tags` (ignored, metadata) and their allowlists (`[rules.allowlist]` or
//! `[[rules.allowlists]]`: `paths`, `regexes`, `stopwords`, `description`, `regexTarget`
//! (`secret`, `match`, `line`) and `condition` (`OR`, `AND`: every criterion given must hold));
//! the global `[allowlist]` / `[[allowlists]]` likewise; `title`. Go regexes are translated where
//! RE2 and Rust differ (a `{` that does not start a repetition is a literal: [`go_regex`]), so
//! gitleaks' own default config loads. Everything else is not silently dropped: it is returned
//! as a [`Unsupported`] note naming the field, and a rule that cannot be honoured at all (no
//! regex, composite `required`) is skipped with a note.

use crate::error::Error;
use crate::rules::{
    AllowGroup, Allowlist, Confidence, RegexTarget, Rule, RuleRegex, RuleSet, Severity,
    build_bytes_regex,
};
use toml::{Table, Value};

/// A field of the config that palisade could not honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// 1-based line where the field (or its table) appears, best effort.
    pub line: usize,
    /// e.g. `rules[3] (id "aws-key").allowlists[0].commits`
    pub field: String,
    pub what: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: `{}`: {}", self.line, self.field, self.what)
    }
}

struct Ctx<'a> {
    src: &'a str,
    origin: &'a str,
    notes: Vec<Unsupported>,
}

impl Ctx<'_> {
    /// Best-effort line: first line at or after `after_line` that mentions `needle`.
    fn line_of(&self, needle: &str, after_line: usize) -> usize {
        self.src
            .lines()
            .enumerate()
            .skip(after_line.saturating_sub(1))
            .find(|(_, l)| l.contains(needle))
            .map_or(after_line.max(1), |(i, _)| i + 1)
    }

    /// Record an unsupported field; its line is searched from `from_line` on by the field's key.
    fn note(&mut self, from_line: usize, field: String, what: impl Into<String>) {
        let key = field.rsplit('.').next().unwrap_or(&field);
        let line = self.line_of(key, from_line);
        self.notes.push(Unsupported {
            line,
            field,
            what: what.into(),
        });
    }

    fn err(&self, line: usize, message: String) -> Error {
        Error::Config {
            path: self.origin.to_string(),
            line,
            column: 1,
            message,
        }
    }
}

/// Parse a gitleaks config. Returns the rules and the notes about unsupported fields.
pub fn load(src: &str, origin: &str) -> Result<(RuleSet, Vec<Unsupported>), Error> {
    let table: Table = toml::from_str(src).map_err(|e| {
        let off = e.span().map_or(0, |s| s.start);
        let (line, column) = crate::error::line_col(src, off);
        Error::Config {
            path: origin.to_string(),
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    let mut cx = Ctx {
        src,
        origin,
        notes: Vec::new(),
    };
    let mut set = RuleSet::default();
    for (k, v) in &table {
        match k.as_str() {
            "title" | "description" => {}
            "rules" => {}
            "allowlist" => {
                let line = cx.line_of("[allowlist]", 1);
                let a = allowlist(&mut cx, v, "allowlist", line)?;
                set.allowlist.extend(a);
            }
            "allowlists" => {
                for (i, a) in v.as_array().into_iter().flatten().enumerate() {
                    let line = cx.line_of("[[allowlists]]", 1);
                    let a = allowlist(&mut cx, a, &format!("allowlists[{i}]"), line)?;
                    set.allowlist.extend(a);
                }
            }
            "extend" => {
                let line = cx.line_of("[extend]", 1);
                cx.note(line, "extend".into(), "extending another config (useDefault / path / disabledRules) is not supported; only the rules in this file are used (add palisade's built-in rules by not passing --no-builtin-rules)");
            }
            other => {
                let line = cx.line_of(other, 1);
                cx.note(line, other.to_string(), "unknown top-level field; ignored");
            }
        }
    }
    let rules = table
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut search_from = 1;
    for (i, r) in rules.iter().enumerate() {
        let Some(rt) = r.as_table() else {
            return Err(cx.err(1, format!("rules[{i}] is not a table")));
        };
        let id = rt
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let line = if id.is_empty() {
            cx.line_of("[[rules]]", search_from)
        } else {
            cx.line_of(&format!("\"{id}\""), search_from)
        };
        search_from = line;
        let field = format!("rules[{i}] (id \"{id}\")");
        if id.is_empty() {
            return Err(cx.err(line, format!("{field}: missing `id`")));
        }
        if let Some(rule) = rule(&mut cx, rt, &id, &field, line)? {
            if let Some(pos) = set.rules.iter().position(|x: &Rule| x.id == rule.id) {
                set.rules[pos] = rule;
            } else {
                set.rules.push(rule);
            }
        }
    }
    Ok((set, cx.notes))
}

fn strings(
    cx: &Ctx<'_>,
    v: Option<&Value>,
    field: &str,
    line: usize,
) -> Result<Vec<String>, Error> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| cx.err(line, format!("{field}: expected strings")))
            })
            .collect(),
        Some(_) => Err(cx.err(line, format!("{field}: expected an array of strings"))),
    }
}

/// A Go (RE2) regex in the syntax of Rust's `regex`: Go reads a `{` that does not start a
/// repetition (`{n}`, `{n,}`, `{n,m}`) as a literal, Rust rejects it, so it is escaped.
/// gitleaks' own default config relies on this (`^\${(?:[A-Z_]+)}$`, `import[ \t]+{`).
pub(crate) fn go_regex(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == '\\' {
            out.push(c);
            if let Some(&n) = chars.get(i) {
                out.push(n);
                i += 1;
            }
            continue;
        }
        if in_class {
            in_class = c != ']';
            out.push(c);
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push(c);
                // `]` first in a class (after an optional `^`) is a literal.
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
            }
            '{' if !is_repetition(&chars[i..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `rest` (what follows a `{`) completes a repetition: `n}`, `n,}` or `n,m}`.
fn is_repetition(rest: &[char]) -> bool {
    let digits = |from: usize| {
        rest[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let n = digits(0);
    if n == 0 {
        return false;
    }
    match rest.get(n) {
        Some('}') => true,
        Some(',') => {
            let m = digits(n + 1);
            rest.get(n + 1 + m) == Some(&'}')
        }
        _ => false,
    }
}

fn rx(cx: &Ctx<'_>, pattern: &str, field: &str) -> Result<regex::bytes::Regex, Error> {
    let line = cx.line_of(pattern.lines().next().unwrap_or(pattern), 1);
    build_bytes_regex(&go_regex(pattern)).map_err(|e| {
        cx.err(
            line,
            format!("{field}: regex not supported by palisade's (RE2-like) engine: {e}"),
        )
    })
}

fn rule(
    cx: &mut Ctx<'_>,
    rt: &Table,
    id: &str,
    field: &str,
    line: usize,
) -> Result<Option<Rule>, Error> {
    for k in rt.keys() {
        match k.as_str() {
            "id" | "description" | "regex" | "secretGroup" | "entropy" | "keywords" | "path"
            | "tags" | "allowlist" | "allowlists" => {}
            "required" => {
                cx.note(
                    line,
                    format!("{field}.required"),
                    "composite rules are not supported; rule skipped",
                );
                return Ok(None);
            }
            "skipReport" | "report" => cx.note(
                line,
                format!("{field}.{k}"),
                "ignored; every match is reported",
            ),
            other => cx.note(
                line,
                format!("{field}.{other}"),
                "unknown rule field; ignored",
            ),
        }
    }
    let Some(pattern) = rt.get("regex").and_then(Value::as_str) else {
        cx.note(
            line,
            format!("{field}.regex"),
            "rules without a regex (path-only rules) are not supported; rule skipped",
        );
        return Ok(None);
    };
    let regex = RuleRegex::from_regex(rx(cx, pattern, &format!("{field}.regex"))?);
    let secret_group = match rt.get("secretGroup") {
        Some(Value::Integer(n)) if *n >= 0 && (*n as usize) < regex.captures_len() => {
            Some(*n as usize)
        }
        Some(_) => {
            return Err(cx.err(
                line,
                format!("{field}.secretGroup: not a capture group of the regex"),
            ));
        }
        None => Some(usize::from(regex.captures_len() > 1)),
    };
    let entropy = match rt.get("entropy") {
        Some(Value::Float(f)) => Some(*f),
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(_) => return Err(cx.err(line, format!("{field}.entropy: expected a number"))),
        None => None,
    };
    let path = match rt.get("path").and_then(Value::as_str) {
        Some(p) => Some(
            regex::Regex::new(&go_regex(p))
                .map_err(|e| cx.err(line, format!("{field}.path: invalid regex: {e}")))?,
        ),
        None => None,
    };
    let mut allow = Allowlist::default();
    if let Some(a) = rt.get("allowlist") {
        allow.extend(allowlist(cx, a, &format!("{field}.allowlist"), line)?);
    }
    if let Some(Value::Array(list)) = rt.get("allowlists") {
        for (j, a) in list.iter().enumerate() {
            allow.extend(allowlist(cx, a, &format!("{field}.allowlists[{j}]"), line)?);
        }
    }
    Ok(Some(Rule {
        id: id.to_string(),
        description: rt
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_string(),
        severity: Severity::High,
        // gitleaks rules mix provider formats and generic keyword rules; none is known to be
        // a strong prefix.
        confidence: Confidence::Medium,
        keywords: strings(cx, rt.get("keywords"), &format!("{field}.keywords"), line)?
            .into_iter()
            .map(|k| k.to_ascii_lowercase())
            .filter(|k| !k.is_empty())
            .collect(),
        regex,
        secret_group,
        entropy,
        min_char_classes: None,
        path,
        // gitleaks runs a rule on the whole fragment; keep that for rules we did not write.
        multiline: true,
        allowlist: allow,
        examples: Vec::new(),
        negative_examples: Vec::new(),
        flagged_examples: Vec::new(),
        companion: None,
    }))
}

fn allowlist(cx: &mut Ctx<'_>, v: &Value, field: &str, line: usize) -> Result<Allowlist, Error> {
    let Some(t) = v.as_table() else {
        return Err(cx.err(line, format!("{field}: expected a table")));
    };
    let mut target = RegexTarget::Secret;
    let mut all = false;
    for (k, val) in t {
        match k.as_str() {
            "paths" | "regexes" | "stopwords" | "description" => {}
            "regexTarget" => match val.as_str() {
                Some("secret") => {}
                Some("match") => target = RegexTarget::Match,
                Some("line") => target = RegexTarget::Line,
                _ => cx.note(
                    line,
                    format!("{field}.regexTarget"),
                    "expected \"secret\", \"match\" or \"line\"; the regexes are applied to the secret",
                ),
            },
            "condition" => match val.as_str() {
                Some(c) if c.eq_ignore_ascii_case("and") => all = true,
                Some(c) if c.eq_ignore_ascii_case("or") => {}
                _ => cx.note(
                    line,
                    format!("{field}.condition"),
                    "expected \"AND\" or \"OR\"; each criterion allows on its own (OR)",
                ),
            },
            "commits" => cx.note(
                line,
                format!("{field}.commits"),
                "allowlisting by commit is not supported; use a baseline",
            ),
            "targetRules" => cx.note(
                line,
                format!("{field}.targetRules"),
                "not supported; the allowlist applies to every rule",
            ),
            other => cx.note(
                line,
                format!("{field}.{other}"),
                "unknown allowlist field; ignored",
            ),
        }
    }
    let paths = strings(cx, t.get("paths"), &format!("{field}.paths"), line)?
        .iter()
        .map(|p| {
            regex::Regex::new(&go_regex(p))
                .map_err(|e| cx.err(line, format!("{field}.paths: invalid regex: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let regexes = strings(cx, t.get("regexes"), &format!("{field}.regexes"), line)?
        .iter()
        .map(|p| rx(cx, p, &format!("{field}.regexes")))
        .collect::<Result<_, _>>()?;
    let stopwords = strings(cx, t.get("stopwords"), &format!("{field}.stopwords"), line)?
        .into_iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if target == RegexTarget::Secret && !all {
        return Ok(Allowlist {
            paths,
            regexes,
            stopwords,
            groups: Vec::new(),
        });
    }
    Ok(Allowlist {
        groups: vec![AllowGroup {
            paths,
            regexes,
            stopwords,
            target,
            all,
        }],
        ..Allowlist::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scanner;

    const CFG: &str = r#"title = "team config"

[extend]
useDefault = true

[[rules]]
id = "acme-token"
description = "ACME internal token"
regex = '''acme_([a-z0-9]{24})'''
secretGroup = 1
keywords = ["acme_"]
tags = ["internal"]

[[rules.allowlists]]
commits = ["abc123"]
stopwords = ["testtesttest"]

[[rules]]
id = "composite"
regex = '''x'''
[[rules.required]]
id = "acme-token"

[allowlist]
paths = ['''vendor/''']
"#;

    #[test]
    fn rules_work_and_unsupported_fields_are_named() {
        let (set, notes) = load(CFG, "gl.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.rules.len(), 1);
        let fields: Vec<&str> = notes.iter().map(|n| n.field.as_str()).collect();
        assert!(fields.contains(&"extend"), "{fields:?}");
        assert!(
            fields.contains(&"rules[0] (id \"acme-token\").allowlists[0].commits"),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"rules[1] (id \"composite\").required"),
            "{fields:?}"
        );
        let extend = notes.iter().find(|n| n.field == "extend").map(|n| n.line);
        assert_eq!(extend, Some(3));
        let s = Scanner::new(set);
        let f = s.scan("src/a.txt", b"t = acme_0123456789abcdefghijklmn\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].secret, "0123456789abcdefghijklmn");
        assert!(
            s.scan("vendor/a.txt", b"t = acme_0123456789abcdefghijklmn\n")
                .is_empty()
        );
        assert!(
            s.scan("a", b"t = acme_testtesttesttesttesttest\n")
                .is_empty()
        );
    }

    /// The constructs of gitleaks' own default config that palisade rejected or misapplied
    /// (issue 18): Go regexes with a literal `{` that does not start a repetition, allowlists
    /// with `regexTarget = "line"` / `"match"`, and `condition = "AND"`.
    const DEFAULT_LIKE: &str = r#"title = "gitleaks-like"

[allowlist]
regexes = [
    '''^\$(?:\d+|{\d+})$''',
    '''^\${(?:[A-Z_]+|[a-z_]+)}$''',
    '''^\{\{[ \t]*[\w ().|]+[ \t]*}}$''',
]

[[rules]]
id = "generic-api-key"
regex = '''(?i)api_?key\s*[:=]\s*["']?([\w${}.\-]{8,64})["']?'''
keywords = ["api"]
[[rules.allowlists]]
regexTarget = "line"
regexes = [
    '''import[ \t]+{[ \t\w,]+}[ \t]+from''',
]
[[rules.allowlists]]
regexTarget = "match"
regexes = ['''(?i)api_?key\s*=\s*"q8Zr''']
[[rules.allowlists]]
condition = "AND"
paths = ['''\.bb$''']
regexTarget = "line"
regexes = ['''LICENSE''']
"#;

    #[test]
    fn gitleaks_default_constructs_load_and_keep_their_meaning() {
        let (set, notes) = load(DEFAULT_LIKE, "gl.toml").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            notes
                .iter()
                .all(|n| !n.field.contains("regexTarget") && !n.field.contains("condition")),
            "{notes:?}"
        );
        let s = Scanner::new(set);
        let secrets = |path: &str, text: &str| -> Vec<String> {
            s.scan(path, text.as_bytes())
                .into_iter()
                .map(|f| f.secret)
                .collect()
        };
        // A literal `{` in a Go regex is a literal here too.
        assert!(secrets("a.sh", "api_key = ${API_KEY_VALUE}").is_empty());
        assert!(secrets("a.sh", "api_key = {{api_key_value}}").is_empty());
        assert_eq!(
            secrets("a.sh", "api_key = Zm9vYmFyYmF6cXV4"),
            vec!["Zm9vYmFyYmF6cXV4"]
        );
        // regexTarget = "line": the whole line is tested, not the secret.
        assert!(
            secrets(
                "a.js",
                "import { apikey } from 'x'; apikey = Zm9vYmFyYmF6cXV4"
            )
            .is_empty()
        );
        // regexTarget = "match": the whole match.
        assert!(secrets("a.py", "API_KEY = \"q8Zr2LmX0vB7\"").is_empty());
        assert_eq!(
            secrets("a.py", "API_KEY = \"z8Zr2LmX0vB7\""),
            vec!["z8Zr2LmX0vB7"]
        );
        // condition = "AND": path and line must both match.
        assert!(secrets("meta/x.bb", "LICENSE api_key = Zm9vYmFyYmF6cXV4").is_empty());
        assert_eq!(
            secrets("meta/x.txt", "LICENSE api_key = Zm9vYmFyYmF6cXV4"),
            vec!["Zm9vYmFyYmF6cXV4"]
        );
        assert_eq!(
            secrets("meta/x.bb", "api_key = Zm9vYmFyYmF6cXV4"),
            vec!["Zm9vYmFyYmF6cXV4"]
        );
    }

    #[test]
    fn go_literal_braces_are_escaped_and_repetitions_kept() {
        assert_eq!(go_regex(r"^\$(?:\d+|{\d+})$"), r"^\$(?:\d+|\{\d+})$");
        assert_eq!(go_regex(r"^\${(?:[A-Z_]+)}$"), r"^\$\{(?:[A-Z_]+)}$");
        assert_eq!(go_regex(r"a{2}b{1,}c{3,4}[{]\{"), r"a{2}b{1,}c{3,4}[{]\{");
        assert_eq!(go_regex(r"x{,3}"), r"x\{,3}");
    }

    #[test]
    fn invalid_regex_names_file_line_and_rule() {
        let src = "[[rules]]\nid = \"bad\"\nregex = '''(?<=x)abc'''\n";
        let err = load(src, "gl.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("gl.toml:3:"), "{err}");
        assert!(err.contains("rules[0] (id \"bad\").regex"), "{err}");
    }
}
