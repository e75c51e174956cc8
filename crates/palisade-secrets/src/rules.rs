//! Rules as data: the TOML schema, its validation, and the compiled form.
//!
//! The built-in rules live in `rules/builtin.toml` and are embedded in the binary. A user file in
//! the same schema (`--config`) adds rules and allowlists. Every rule carries positive and
//! negative examples; `tests/rules_examples.rs` checks them all.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use toml::Spanned;

/// The embedded built-in rules file.
pub const BUILTIN_RULES: &str = include_str!("../rules/builtin.toml");

/// How bad a leaked secret of this kind is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    #[default]
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
}

/// How sure a finding is to be a live credential: `high` for a provider format with a strong
/// prefix or a checksum, `medium` for a keyword-and-shape match (an assignment to a key named
/// like a secret), `low` for a match whose value looks like an example, a placeholder or a
/// reference (see [`Flag`]). The default report shows high and medium.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    #[default]
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Context of a finding that makes it less likely to matter. Path flags (`test-path`,
/// `example-path`, `docs-path`, `locale-path`) hide a finding from the default report; value flags lower its
/// confidence to low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// The file is a test, a fixture, test data or a mock.
    TestPath,
    /// The file is under an examples/samples/demo directory or is an example config.
    ExamplePath,
    /// The file is documentation.
    DocsPath,
    /// The file holds translations (`i18n/`, `locales/`): the Dutch label of a password field,
    /// under a key named like one, is a word, not a password.
    LocalePath,
    /// The file is third-party code kept in the repository (`vendor/`, `third_party/`): not
    /// the developer's to rotate.
    VendorPath,
    /// The line is in a file's test code (after Rust's `#[cfg(test)]`).
    TestCode,
    /// The line is a documentation comment (`///`, `//!`, ` * `, a Ruby or Python `#`):
    /// an example in an API's documentation.
    DocComment,
    /// The value is a well-known documented example or contains an example word (EXAMPLE,
    /// FAKE, dummy, ...).
    ExampleValue,
    /// The value has a placeholder shape: `xxxx`, `deadbeef`, `changeme`, `<...>`,
    /// `your-...-here`, too few distinct characters.
    Placeholder,
    /// The credential is for a local host (`@localhost`, `127.0.0.1`).
    Localhost,
    /// The value is the key's own name (`password="password"`, `admin:admin@`).
    ValueEqualsKey,
    /// The value is an interpolation or a reference to something else (`$var`, `${VAR}`,
    /// `{{ var }}`, `%s`).
    Reference,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::TestPath => "test-path",
            Flag::ExamplePath => "example-path",
            Flag::DocsPath => "docs-path",
            Flag::LocalePath => "locale-path",
            Flag::VendorPath => "vendor-path",
            Flag::TestCode => "test-code",
            Flag::DocComment => "doc-comment",
            Flag::ExampleValue => "example-value",
            Flag::Placeholder => "placeholder",
            Flag::Localhost => "localhost",
            Flag::ValueEqualsKey => "value-equals-key",
            Flag::Reference => "reference",
        }
    }

    /// A flag about where the finding is (its file, or the part of the file), not what it is.
    pub fn is_path(self) -> bool {
        matches!(
            self,
            Flag::TestPath
                | Flag::ExamplePath
                | Flag::DocsPath
                | Flag::LocalePath
                | Flag::VendorPath
                | Flag::TestCode
                | Flag::DocComment
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    rules: Vec<Spanned<RuleDef>>,
    #[serde(default)]
    allowlist: Option<AllowlistDef>,
    #[serde(default)]
    context: Option<ContextDef>,
}

/// The `[context]` table: what makes a finding look like an example, a placeholder or a test.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ContextDef {
    #[serde(default)]
    test_paths: Vec<Spanned<String>>,
    #[serde(default)]
    example_paths: Vec<Spanned<String>>,
    #[serde(default)]
    docs_paths: Vec<Spanned<String>>,
    #[serde(default)]
    locale_paths: Vec<Spanned<String>>,
    #[serde(default)]
    vendor_paths: Vec<Spanned<String>>,
    /// Lines that document (flag `doc-comment`), per kind of file.
    #[serde(default)]
    doc_comments: Vec<LineContextDef>,
    /// Where a file's test code starts (flag `test-code` from there to the end), per kind of
    /// file.
    #[serde(default)]
    test_code: Vec<LineContextDef>,
    #[serde(default)]
    example_values: Vec<String>,
    #[serde(default)]
    example_words: Vec<String>,
    #[serde(default)]
    placeholders: Vec<Spanned<String>>,
    #[serde(default)]
    min_distinct_chars: Option<usize>,
    #[serde(default)]
    localhost: Vec<Spanned<String>>,
    #[serde(default)]
    references: Vec<Spanned<String>>,
}

/// `{ path = '…', line = '…' }`: in files whose path matches, lines that match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineContextDef {
    path: Spanned<String>,
    line: Spanned<String>,
}

/// Compiled [`LineContextDef`].
#[derive(Debug, Clone)]
pub struct LineContext {
    pub path: regex::Regex,
    pub line: regex::bytes::Regex,
}

/// Compiled `[context]`: the data behind [`Flag`]s.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Path regexes, each with the flag it sets.
    pub paths: Vec<(Flag, regex::Regex)>,
    /// Documentation comment lines (flag `doc-comment`).
    pub doc_comments: Vec<LineContext>,
    /// Where test code starts in a file (flag `test-code` from that line on).
    pub test_code: Vec<LineContext>,
    /// Exact well-known example values.
    pub example_values: Vec<String>,
    /// Lower-case words; a value containing one (ASCII case-insensitive) is an example.
    pub example_words: Vec<String>,
    /// A value matching one is a placeholder.
    pub placeholders: Vec<regex::bytes::Regex>,
    /// A value with fewer distinct bytes than this is a placeholder (`xxxxxxxx`, `abababab`).
    pub min_distinct_chars: usize,
    /// Matched against the whole match (key, value and what surrounds them in the rule).
    pub localhost: Vec<regex::bytes::Regex>,
    /// A value matching one is a reference or an interpolation.
    pub references: Vec<regex::bytes::Regex>,
}

impl Context {
    /// Flags of a path (test, example, docs).
    pub fn path_flags(&self, path: &str) -> Vec<Flag> {
        let mut out: Vec<Flag> = Vec::new();
        for (flag, re) in &self.paths {
            if !out.contains(flag) && re.is_match(path) {
                out.push(*flag);
            }
        }
        out
    }

    /// Where the test code of `data` (a file at `path`) starts, if it has any.
    pub fn test_code_start(&self, path: &str, data: &[u8]) -> Option<usize> {
        self.test_code
            .iter()
            .filter(|c| c.path.is_match(path))
            .filter_map(|c| c.line.find(data).map(|m| m.start()))
            .min()
    }

    /// Whether `line` (a whole line of a file at `path`) is a documentation comment.
    pub fn is_doc_comment(&self, path: &str, line: &[u8]) -> bool {
        self.doc_comments
            .iter()
            .any(|c| c.path.is_match(path) && c.line.is_match(line))
    }

    /// Flags of a value. `key` is the name it is assigned to (may be empty); `whole` is the
    /// rule's whole match.
    pub fn value_flags(&self, value: &[u8], key: &[u8], whole: &[u8]) -> Vec<Flag> {
        let mut out = Vec::new();
        let has_example_word = |text: &[u8]| {
            let lower = text.to_ascii_lowercase();
            self.example_words
                .iter()
                .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
        };
        if self.example_values.iter().any(|e| e.as_bytes() == value)
            || has_example_word(value)
            || decoded_text(value).is_some_and(|t| has_example_word(&t))
        {
            out.push(Flag::ExampleValue);
        }
        let mut seen = [false; 256];
        let distinct = value
            .iter()
            .filter(|&&b| !std::mem::replace(&mut seen[b as usize], true))
            .count();
        if distinct < self.min_distinct_chars || self.placeholders.iter().any(|r| r.is_match(value))
        {
            out.push(Flag::Placeholder);
        }
        if self.localhost.iter().any(|r| r.is_match(whole)) {
            out.push(Flag::Localhost);
        }
        let norm = |s: &[u8]| -> Vec<u8> {
            s.iter()
                .filter(|b| b.is_ascii_alphanumeric())
                .map(u8::to_ascii_lowercase)
                .collect()
        };
        let (v, k) = (norm(value), norm(key));
        if (v.len() >= 3 && !k.is_empty() && k.ends_with(&v))
            || (k.len() >= 4 && memchr::memmem::find(&v, &k).is_some())
        {
            out.push(Flag::ValueEqualsKey);
        }
        if self.references.iter().any(|r| r.is_match(value)) {
            out.push(Flag::Reference);
        }
        out
    }

    fn extend(&mut self, other: Context) {
        self.paths.extend(other.paths);
        self.doc_comments.extend(other.doc_comments);
        self.test_code.extend(other.test_code);
        self.example_values.extend(other.example_values);
        self.example_words.extend(other.example_words);
        self.placeholders.extend(other.placeholders);
        self.min_distinct_chars = self.min_distinct_chars.max(other.min_distinct_chars);
        self.localhost.extend(other.localhost);
        self.references.extend(other.references);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    description: String,
    #[serde(default)]
    severity: Severity,
    #[serde(default)]
    confidence: Confidence,
    #[serde(default)]
    keywords: Vec<String>,
    regex: Spanned<String>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    min_char_classes: Option<u8>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    multiline: bool,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negative_examples: Vec<String>,
    #[serde(default)]
    flagged_examples: Vec<String>,
    #[serde(default)]
    allowlist: Option<AllowlistDef>,
    #[serde(default)]
    companion: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AllowlistDef {
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    regexes: Vec<Spanned<String>>,
    #[serde(default)]
    stopwords: Vec<String>,
}

/// Things that make a match not a finding.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    /// A file whose path matches one of these is not reported.
    pub paths: Vec<regex::Regex>,
    /// A secret matching one of these is not reported.
    pub regexes: Vec<regex::bytes::Regex>,
    /// A secret containing one of these (ASCII case-insensitive) is not reported.
    pub stopwords: Vec<String>,
    /// Allowlists with their own regex target or `AND` condition (gitleaks `[[allowlists]]`
    /// with `regexTarget` / `condition`); each is checked on its own.
    pub groups: Vec<AllowGroup>,
}

/// What an allowlist's regexes are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegexTarget {
    #[default]
    Secret,
    /// The rule's whole match.
    Match,
    /// The whole line(s) holding the match.
    Line,
}

/// One allowlist with a regex target and a condition: with `all`, every criterion given
/// (paths, regexes, stopwords) must hold; without, any one suffices.
#[derive(Debug, Clone, Default)]
pub struct AllowGroup {
    pub paths: Vec<regex::Regex>,
    pub regexes: Vec<regex::bytes::Regex>,
    pub stopwords: Vec<String>,
    pub target: RegexTarget,
    pub all: bool,
}

/// What a match is checked against by [`AllowGroup`]s.
pub struct MatchParts<'a> {
    pub path: &'a str,
    pub secret: &'a [u8],
    pub whole: &'a [u8],
    pub line: &'a [u8],
}

impl AllowGroup {
    pub(crate) fn allows(&self, m: &MatchParts<'_>) -> bool {
        let target = match self.target {
            RegexTarget::Secret => m.secret,
            RegexTarget::Match => m.whole,
            RegexTarget::Line => m.line,
        };
        let lower = m.secret.to_ascii_lowercase();
        let checks: [(bool, bool); 3] = [
            (
                !self.paths.is_empty(),
                self.paths.iter().any(|r| r.is_match(m.path)),
            ),
            (
                !self.regexes.is_empty(),
                self.regexes.iter().any(|r| r.is_match(target)),
            ),
            (
                !self.stopwords.is_empty(),
                self.stopwords
                    .iter()
                    .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some()),
            ),
        ];
        if self.all {
            checks.iter().any(|c| c.0) && checks.iter().all(|&(given, hit)| !given || hit)
        } else {
            checks.iter().any(|&(_, hit)| hit)
        }
    }
}

impl Allowlist {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
            && self.groups.is_empty()
    }

    /// Whether one of the [`AllowGroup`]s allows the match.
    pub(crate) fn groups_allow(&self, m: &MatchParts<'_>) -> bool {
        self.groups.iter().any(|g| g.allows(m))
    }

    pub(crate) fn allows_path(&self, path: &str) -> bool {
        self.paths.iter().any(|r| r.is_match(path))
    }

    pub(crate) fn allows_secret(&self, secret: &[u8]) -> bool {
        if self.regexes.iter().any(|r| r.is_match(secret)) {
            return true;
        }
        if self.stopwords.is_empty() {
            return false;
        }
        let lower = secret.to_ascii_lowercase();
        self.stopwords
            .iter()
            .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
    }

    pub(crate) fn extend(&mut self, other: Allowlist) {
        self.paths.extend(other.paths);
        self.regexes.extend(other.regexes);
        self.stopwords.extend(other.stopwords);
        self.groups.extend(other.groups);
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub severity: Severity,
    /// Confidence of a finding of this rule whose value carries no value flag.
    pub confidence: Confidence,
    /// Lower-cased; the rule's regex only runs on blobs containing one of them
    /// (case-insensitive). Empty: the rule runs on every blob its `path` admits.
    pub keywords: Vec<String>,
    pub regex: RuleRegex,
    /// Capture group holding the secret (0 = whole match). When that group did not take part
    /// in a match, the first later group that did holds it (lets one rule accept `"quoted"`,
    /// `'quoted'` and bare values with one group each).
    /// `None`: group 1 when the regex has groups, else 0 (see [`Rule::secret_group`]).
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub entropy: Option<f64>,
    /// Minimum number of character classes (lower case, upper case, digit, other) in the secret.
    pub min_char_classes: Option<u8>,
    /// Only files whose path matches are scanned with this rule.
    pub path: Option<regex::Regex>,
    /// A match may reach further than the keyword's line ± [`crate::scanner::WINDOW_CONTEXT`]
    /// bytes (PEM blocks, .netrc entries): the regex runs on the whole blob. Otherwise it only
    /// runs on the lines around keyword hits.
    pub multiline: bool,
    pub allowlist: Allowlist,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
    /// Found by the rule but flagged, so hidden from the default report.
    pub flagged_examples: Vec<String>,
    /// A non-secret value that belongs with the secret (AWS's access key id beside its secret
    /// key, Twilio's account SID beside its auth token), searched near the secret: group 1 (or
    /// the whole match) of the nearest match within [`crate::scanner::COMPANION_LINES`] lines.
    /// Only live verification uses it; reports never show it.
    pub companion: Option<regex::bytes::Regex>,
}

/// The text a base64 value encodes, when it encodes printable text rather than key bytes
/// (`dGhpcyBpcyBhIGZha2UgYmVhcmVyIHRva2VuIQ==` is "this is a fake bearer token!").
fn decoded_text(value: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    if value.len() < 16 {
        return None;
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let bytes = engines.iter().find_map(|e| e.decode(value).ok())?;
    bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ')
        .then_some(bytes)
}

/// Number of character classes (lower case, upper case, digit, other) in `s`.
pub fn char_classes(s: &[u8]) -> u8 {
    let (mut l, mut u, mut d, mut o) = (0u8, 0u8, 0u8, 0u8);
    for &b in s {
        match b {
            b'a'..=b'z' => l = 1,
            b'A'..=b'Z' => u = 1,
            b'0'..=b'9' => d = 1,
            _ => o = 1,
        }
    }
    l + u + d + o
}

impl Rule {
    /// The capture group holding the secret: the declared one, else group 1 when the regex has
    /// groups, else the whole match.
    pub fn secret_group(&self) -> usize {
        self.secret_group
            .unwrap_or_else(|| usize::from(self.regex.captures_len() > 1))
    }
}

/// An ordered set of rules plus the global allowlist. Earlier rules win when two findings
/// cover the same bytes (so specific rules are listed before generic ones).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub allowlist: Allowlist,
    pub context: Context,
}

impl RuleSet {
    /// The built-in rules. Their regexes are parsed and compiled on first use (a test compiles
    /// and checks every one): most scans only ever need a few of them, and compiling all of
    /// them up front cost ~20 ms on every run.
    pub fn builtin() -> RuleSet {
        // The embedded file is checked by tests; failing here is a build defect.
        #[allow(clippy::expect_used)]
        RuleSet::parse(BUILTIN_RULES, "<builtin>/rules/builtin.toml", false)
            .expect("built-in rules must compile")
    }

    /// Parse and compile a rules file in palisade's schema. `origin` names it in errors.
    /// Every regex is compiled here, so a user's file fails now, with its line, not mid-scan.
    pub fn from_toml(src: &str, origin: &str) -> Result<RuleSet, Error> {
        RuleSet::parse(src, origin, true)
    }

    fn parse(src: &str, origin: &str, eager: bool) -> Result<RuleSet, Error> {
        let def: FileDef = toml::from_str(src).map_err(|e| {
            let off = e.span().map_or(0, |s| s.start);
            Error::config_at(origin, src, off, e.message().to_string())
        })?;
        let mut set = RuleSet::default();
        let mut ids = HashSet::new();
        for spanned in def.rules {
            let start = spanned.span().start;
            let r = spanned.into_inner();
            if !ids.insert(r.id.clone()) {
                return Err(Error::config_at(
                    origin,
                    src,
                    start,
                    format!("duplicate rule id `{}`", r.id),
                ));
            }
            set.rules.push(compile_rule(r, src, origin, eager)?);
        }
        if let Some(a) = def.allowlist {
            set.allowlist = compile_allowlist(a, src, origin)?;
        }
        if let Some(c) = def.context {
            set.context = compile_context(c, src, origin)?;
        }
        Ok(set)
    }

    /// Append the rules and allowlist of `other`. A rule whose id already exists replaces it.
    pub fn merge(&mut self, other: RuleSet) {
        for r in other.rules {
            if let Some(pos) = self.rules.iter().position(|x| x.id == r.id) {
                self.rules[pos] = r;
            } else {
                self.rules.push(r);
            }
        }
        self.allowlist.extend(other.allowlist);
        self.context.extend(other.context);
    }
}

fn compile_context(c: ContextDef, src: &str, origin: &str) -> Result<Context, Error> {
    let mut paths = Vec::new();
    for (flag, list, what) in [
        (Flag::TestPath, &c.test_paths, "context.test_paths"),
        (Flag::ExamplePath, &c.example_paths, "context.example_paths"),
        (Flag::DocsPath, &c.docs_paths, "context.docs_paths"),
        (Flag::LocalePath, &c.locale_paths, "context.locale_paths"),
        (Flag::VendorPath, &c.vendor_paths, "context.vendor_paths"),
    ] {
        for p in list {
            paths.push((flag, compile_regex(p, src, origin, what)?));
        }
    }
    let bytes = |list: &[Spanned<String>], what: &str| -> Result<Vec<_>, Error> {
        list.iter()
            .map(|p| compile_bytes_regex(p, src, origin, what))
            .collect()
    };
    let lines = |list: &[LineContextDef], what: &str| -> Result<Vec<LineContext>, Error> {
        list.iter()
            .map(|d| {
                Ok(LineContext {
                    path: compile_regex(&d.path, src, origin, &format!("{what}.path"))?,
                    line: compile_bytes_regex(&d.line, src, origin, &format!("{what}.line"))?,
                })
            })
            .collect()
    };
    Ok(Context {
        doc_comments: lines(&c.doc_comments, "context.doc_comments")?,
        test_code: lines(&c.test_code, "context.test_code")?,
        paths,
        example_values: c.example_values,
        example_words: c
            .example_words
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect(),
        placeholders: bytes(&c.placeholders, "context.placeholders")?,
        min_distinct_chars: c.min_distinct_chars.unwrap_or(0),
        localhost: bytes(&c.localhost, "context.localhost")?,
        references: bytes(&c.references, "context.references")?,
    })
}

fn compile_rule(r: RuleDef, src: &str, origin: &str, eager: bool) -> Result<Rule, Error> {
    let (regex, secret_group) = if eager {
        let what = format!("rule `{}`: regex", r.id);
        let regex = RuleRegex::from_regex(compile_bytes_regex(&r.regex, src, origin, &what)?);
        let group = r
            .secret_group
            .unwrap_or(if regex.captures_len() > 1 { 1 } else { 0 });
        check_group(&r, &regex, group, src, origin)?;
        (regex, Some(group))
    } else {
        // Built-in rules are not even parsed until a scan needs them (parsing all of them was
        // half of a small scan's start-up); a test compiles and checks every one.
        (RuleRegex::unchecked(r.regex.get_ref()), r.secret_group)
    };
    let path = match &r.path {
        Some(p) => Some(compile_regex(
            p,
            src,
            origin,
            &format!("rule `{}`: path", r.id),
        )?),
        None => None,
    };
    let allowlist = match r.allowlist {
        Some(a) => compile_allowlist(a, src, origin)?,
        None => Allowlist::default(),
    };
    let companion = match &r.companion {
        Some(c) => Some(compile_bytes_regex(
            c,
            src,
            origin,
            &format!("rule `{}`: companion", r.id),
        )?),
        None => None,
    };
    Ok(Rule {
        keywords: r
            .keywords
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .filter(|k| !k.is_empty())
            .collect(),
        id: r.id,
        description: r.description,
        severity: r.severity,
        confidence: r.confidence,
        regex,
        secret_group,
        entropy: r.entropy,
        min_char_classes: r.min_char_classes,
        path,
        multiline: r.multiline,
        allowlist,
        examples: r.examples,
        negative_examples: r.negative_examples,
        flagged_examples: r.flagged_examples,
        companion,
    })
}

fn check_group(
    r: &RuleDef,
    regex: &RuleRegex,
    group: usize,
    src: &str,
    origin: &str,
) -> Result<(), Error> {
    if group < regex.captures_len() {
        return Ok(());
    }
    Err(Error::config_at(
        origin,
        src,
        r.regex.span().start,
        format!(
            "rule `{}`: secret_group {} but the regex has only {} capture group(s)",
            r.id,
            group,
            regex.captures_len() - 1
        ),
    ))
}

fn compile_allowlist(a: AllowlistDef, src: &str, origin: &str) -> Result<Allowlist, Error> {
    Ok(Allowlist {
        paths: a
            .paths
            .iter()
            .map(|p| compile_regex(p, src, origin, "allowlist path"))
            .collect::<Result<_, _>>()?,
        regexes: a
            .regexes
            .iter()
            .map(|p| compile_bytes_regex(p, src, origin, "allowlist regex"))
            .collect::<Result<_, _>>()?,
        stopwords: a.stopwords.iter().map(|s| s.to_ascii_lowercase()).collect(),
        groups: Vec::new(),
    })
}

/// Regexes may be large (many alternatives); give them room but keep a bound.
const REGEX_SIZE_LIMIT: usize = 32 << 20;

/// A rule's regex, compiled at most once. User rules are compiled when loaded
/// ([`RuleRegex::from_regex`]); built-in ones ([`RuleRegex::unchecked`]) by whichever scanning
/// thread needs them first.
#[derive(Debug, Clone)]
pub struct RuleRegex {
    pattern: String,
    compiled: std::sync::OnceLock<regex::bytes::Regex>,
}

impl RuleRegex {
    /// An already compiled regex.
    pub fn from_regex(regex: regex::bytes::Regex) -> RuleRegex {
        RuleRegex {
            pattern: regex.as_str().to_string(),
            compiled: std::sync::OnceLock::from(regex),
        }
    }

    /// A regex trusted to be valid (the built-in rules, checked by tests): parsed and compiled
    /// on first use only.
    pub fn unchecked(pattern: &str) -> RuleRegex {
        RuleRegex {
            pattern: pattern.to_string(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    /// Compile now if not yet compiled.
    pub fn compile(&self) -> Result<&regex::bytes::Regex, regex::Error> {
        if let Some(r) = self.compiled.get() {
            return Ok(r);
        }
        let r = build_bytes_regex(&self.pattern)?;
        Ok(self.compiled.get_or_init(|| r))
    }

    /// The compiled regex, compiling it on first use.
    pub fn get(&self) -> &regex::bytes::Regex {
        // Only built-in regexes are compiled here, and a test compiles every one of them, so
        // this cannot fail in a released build; user rules were compiled when loaded.
        #[allow(clippy::expect_used)]
        self.compile()
            .expect("rule regex compiles (built-ins checked by tests)")
    }

    /// Number of capture groups, including the implicit group 0.
    pub fn captures_len(&self) -> usize {
        self.get().captures_len()
    }
}

pub(crate) fn build_bytes_regex(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        // ASCII classes (`\w`, `\b`, `\s`, case folding), as in RE2/gitleaks: secrets are ASCII,
        // and Unicode classes make the automata (and compile time) many times larger.
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

pub(crate) fn compile_bytes_regex(
    p: &Spanned<String>,
    src: &str,
    origin: &str,
    what: &str,
) -> Result<regex::bytes::Regex, Error> {
    build_bytes_regex(p.get_ref()).map_err(|e| {
        Error::config_at(
            origin,
            src,
            p.span().start,
            format!("{what}: invalid regex: {e}"),
        )
    })
}

pub(crate) fn compile_regex(
    p: &Spanned<String>,
    src: &str,
    origin: &str,
    what: &str,
) -> Result<regex::Regex, Error> {
    regex::RegexBuilder::new(p.get_ref())
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            Error::config_at(
                origin,
                src,
                p.span().start,
                format!("{what}: invalid regex: {e}"),
            )
        })
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}
