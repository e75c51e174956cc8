//! The compiled scanner: keyword prefilter, rule regexes, entropy gate, allowlists, inline allow.

use crate::rules::{
    Confidence, Flag, MatchParts, RuleSet, Severity, char_classes, shannon_entropy,
};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker that silences every finding on its line.
pub const INLINE_ALLOW: &[u8] = b"palisade:allow";

/// Where a finding was introduced in git history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommitInfo {
    pub commit: String,
    pub author: String,
    pub email: String,
    /// RFC 3339, with the committer's own UTC offset.
    pub date: String,
}

/// One detected secret.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule_id: String,
    pub description: String,
    pub severity: Severity,
    pub path: String,
    /// 1-based line of the first byte of the secret.
    pub line: usize,
    /// 1-based byte column of the first byte of the secret.
    pub column: usize,
    /// 1-based line of the last byte of the secret.
    pub end_line: usize,
    /// The secret (lossy UTF-8). Renderers redact it unless asked not to.
    pub secret: String,
    /// Stable identity: SHA-256 of rule id, path and secret (no line numbers), hex.
    pub fingerprint: String,
    /// The rule's confidence, lowered to low when the value carries a value flag.
    pub confidence: Confidence,
    /// Context that makes the finding less likely to matter (sorted, no duplicates).
    pub flags: Vec<Flag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    /// The live check's result, with `--verify` (see [`crate::verify`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::verify::Verification>,
    /// The rule's companion value found near the secret (see [`crate::rules::Rule::companion`]):
    /// what live verification needs besides the secret. Never reported.
    #[serde(skip)]
    pub companion: Option<String>,
}

impl Finding {
    /// The default report shows high- and medium-confidence findings outside test, example
    /// and docs paths; `--all` shows every finding.
    pub fn shown_by_default(&self) -> bool {
        self.confidence >= Confidence::Medium && !self.flags.iter().any(|f| f.is_path())
    }
}

/// Something that went wrong with one input; the scan went on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Issue {
    pub path: String,
    pub message: String,
    /// An error means content may have gone unscanned because it could not be read (affects
    /// the exit code); a warning does not (symlink loop, broken symlink met while walking).
    pub is_error: bool,
    /// Content deliberately not scanned (over the size cap, a binary file named on the command
    /// line): a warning, but the run cannot be called clean (exit 2 unless `--skip-ok`).
    #[serde(default)]
    pub skipped: bool,
}

/// Counters shared with a progress display; updated as the scan goes.
#[derive(Debug, Default)]
pub struct Progress {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub findings: AtomicU64,
    /// Total blobs to scan when known (git history), else 0.
    pub total: AtomicU64,
}

/// The result of a scan.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub issues: Vec<Issue>,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped_binary: u64,
    pub skipped_too_large: u64,
}

impl Outcome {
    /// Sort findings and issues into a stable order.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.path,
                a.line,
                a.column,
                &a.rule_id,
                a.commit.as_ref().map(|c| &c.commit),
            )
                .cmp(&(
                    &b.path,
                    b.line,
                    b.column,
                    &b.rule_id,
                    b.commit.as_ref().map(|c| &c.commit),
                ))
        });
        self.issues
            .sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
    }

    /// Drop the findings the default report does not show; returns how many were dropped.
    pub fn keep_default_view(&mut self) -> usize {
        let before = self.findings.len();
        self.findings.retain(Finding::shown_by_default);
        before - self.findings.len()
    }

    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.is_error)
    }

    /// Some input was deliberately not scanned (see [`Issue::skipped`]).
    pub fn has_skips(&self) -> bool {
        self.issues.iter().any(|i| i.skipped)
    }
}

/// A rule set compiled for scanning. Cheap to share between threads (`&Scanner` is `Sync`).
pub struct Scanner {
    rules: RuleSet,
    prefilter: Option<AhoCorasick>,
    /// For each prefilter pattern, the rules that keyword enables.
    pattern_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they run on every blob their path filter admits.
    always: Vec<usize>,
}

impl Scanner {
    pub fn new(rules: RuleSet) -> Scanner {
        let mut keywords: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i);
                continue;
            }
            for k in &r.keywords {
                match keywords.iter().position(|x| x == k) {
                    Some(p) => pattern_rules[p].push(i),
                    None => {
                        keywords.push(k.clone());
                        pattern_rules.push(vec![i]);
                    }
                }
            }
        }
        let prefilter = if keywords.is_empty() {
            None
        } else {
            // A DFA is the fastest searcher for a few hundred short patterns; the size is fine.
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&keywords)
                .ok()
                .or_else(|| {
                    AhoCorasick::builder()
                        .ascii_case_insensitive(true)
                        .build(&keywords)
                        .ok()
                })
        };
        Scanner {
            rules,
            prefilter,
            pattern_rules,
            always,
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Every distinct keyword of the rule set (lower case), e.g. for benchmarks.
    pub fn keywords(&self) -> Vec<String> {
        let mut k: Vec<String> = self
            .rules
            .rules
            .iter()
            .flat_map(|r| r.keywords.iter().cloned())
            .collect();
        k.sort();
        k.dedup();
        k
    }

    /// Scan one blob. `path` is used for path rules, allowlists, fingerprints and reports.
    pub fn scan(&self, path: &str, data: &[u8]) -> Vec<Finding> {
        if self.rules.allowlist.allows_path(path) {
            return Vec::new();
        }
        let n = self.rules.rules.len();
        let mut candidate = vec![false; n];
        for &i in &self.always {
            candidate[i] = true;
        }
        // Keyword hit offsets, kept for line-local rules: their regex only runs around them.
        let mut hits: Vec<Vec<usize>> = vec![Vec::new(); n];
        if let Some(ac) = &self.prefilter {
            for m in ac.find_overlapping_iter(data) {
                for &ri in &self.pattern_rules[m.pattern().as_usize()] {
                    candidate[ri] = true;
                    if !self.rules.rules[ri].multiline {
                        hits[ri].push(m.start());
                    }
                }
            }
        }
        // (rule, start, end) of the secret, and (start, end) of the whole match.
        let mut raw: Vec<Raw> = Vec::new();
        let whole = [(0usize, data.len())];
        for (ri, rule) in self.rules.rules.iter().enumerate() {
            if !candidate[ri] {
                continue;
            }
            if rule.path.as_ref().is_some_and(|p| !p.is_match(path)) {
                continue;
            }
            if rule.allowlist.allows_path(path) {
                continue;
            }
            let windows = if hits[ri].is_empty() {
                whole.to_vec()
            } else {
                windows(data, &mut hits[ri])
            };
            for (lo, hi) in windows {
                self.match_rule(ri, path, data, lo, hi, &mut raw);
            }
        }
        if raw.is_empty() {
            return Vec::new();
        }
        // Earlier (more specific) rules win over later ones covering the same bytes.
        raw.sort_by_key(|r| (r.0, r.1));
        let mut kept: Vec<Raw> = Vec::with_capacity(raw.len());
        for f in raw {
            if !kept.iter().any(|k| k.0 != f.0 && k.1 < f.2 && f.1 < k.2) {
                kept.push(f);
            }
        }
        let lines = LineIndex::new(data);
        let context = &self.rules.context;
        let path_flags = context.path_flags(path);
        let test_code = context.test_code_start(path, data);
        let mut out = Vec::with_capacity(kept.len());
        for (ri, start, end, (mstart, mend)) in kept {
            let (line, line_start) = lines.line_of(start);
            let line_end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |p| start + p);
            if memchr::memmem::find(&data[line_start..line_end], INLINE_ALLOW).is_some() {
                continue;
            }
            let (end_line, _) = lines.line_of(end.saturating_sub(1).max(start));
            let rule = &self.rules.rules[ri];
            let value = &data[start..end];
            let value_flags =
                context.value_flags(value, key_before(&data[mstart..start]), &data[mstart..mend]);
            let confidence = if value_flags.is_empty() {
                rule.confidence
            } else {
                Confidence::Low
            };
            let mut flags = path_flags.clone();
            if test_code.is_some_and(|t| t <= start) {
                flags.push(Flag::TestCode);
            }
            if context.is_doc_comment(path, &data[line_start..line_end]) {
                flags.push(Flag::DocComment);
            }
            flags.extend(value_flags);
            flags.sort_unstable();
            flags.dedup();
            let secret = String::from_utf8_lossy(value).into_owned();
            out.push(Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                severity: rule.severity,
                path: path.to_string(),
                line,
                column: start - line_start + 1,
                end_line,
                fingerprint: fingerprint(&rule.id, path, &data[start..end]),
                secret,
                confidence,
                flags,
                commit: None,
                verification: None,
                companion: rule
                    .companion
                    .as_ref()
                    .and_then(|re| companion_near(re, data, &lines, line)),
            });
        }
        out
    }
    /// Run rule `ri`'s regex on `data[lo..hi]`, pushing accepted secrets (absolute offsets).
    fn match_rule(
        &self,
        ri: usize,
        path: &str,
        data: &[u8],
        lo: usize,
        hi: usize,
        raw: &mut Vec<Raw>,
    ) {
        let rule = &self.rules.rules[ri];
        let group = rule.secret_group();
        for caps in rule.regex.get().captures_iter(&data[lo..hi]) {
            // The secret is the rule's group, or (for alternations such as quoted/unquoted
            // values) the first later group that took part in the match.
            let Some(m) = (group..caps.len()).find_map(|g| caps.get(g)) else {
                continue;
            };
            let secret = m.as_bytes();
            if secret.is_empty()
                || rule
                    .entropy
                    .is_some_and(|min| shannon_entropy(secret) < min)
                || rule
                    .min_char_classes
                    .is_some_and(|min| char_classes(secret) < min)
            {
                continue;
            }
            if rule.allowlist.allows_secret(secret) || self.rules.allowlist.allows_secret(secret) {
                continue;
            }
            let whole = caps
                .get(0)
                .map_or((m.start(), m.end()), |w| (w.start(), w.end()));
            if !rule.allowlist.groups.is_empty() || !self.rules.allowlist.groups.is_empty() {
                let (ws, we) = (lo + whole.0, lo + whole.1);
                let line_start = memchr::memrchr(b'\n', &data[..ws]).map_or(0, |p| p + 1);
                let line_end = memchr::memchr(b'\n', &data[we..]).map_or(data.len(), |p| we + p);
                let parts = MatchParts {
                    path,
                    secret,
                    whole: &data[ws..we],
                    line: &data[line_start..line_end],
                };
                if rule.allowlist.groups_allow(&parts) || self.rules.allowlist.groups_allow(&parts)
                {
                    continue;
                }
            }
            raw.push((
                ri,
                lo + m.start(),
                lo + m.end(),
                (lo + whole.0, lo + whole.1),
            ));
        }
    }
}

/// A raw match: rule index, secret start and end, whole match start and end.
type Raw = (usize, usize, usize, (usize, usize));

/// The key a value is assigned to: the last identifier-like run (`[A-Za-z0-9_.-]`) in the part
/// of the match before the secret (`DB_PASSWORD = "` → `DB_PASSWORD`, `postgres://admin:` →
/// `admin`). Empty when the secret is the whole match.
fn key_before(prefix: &[u8]) -> &[u8] {
    let ident = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let end = prefix.iter().rposition(ident).map_or(0, |p| p + 1);
    let start = prefix[..end]
        .iter()
        .rposition(|b| !ident(b))
        .map_or(0, |p| p + 1);
    &prefix[start..end]
}

/// Bytes of context around a keyword hit, before widening to whole lines.
pub const WINDOW_CONTEXT: usize = 256;

/// Merged windows `[lo, hi)` around keyword hits: from the start of the line holding
/// `hit - WINDOW_CONTEXT` to the end of the line holding `hit + WINDOW_CONTEXT`.
fn windows(data: &[u8], hits: &mut [usize]) -> Vec<(usize, usize)> {
    hits.sort_unstable();
    let len = data.len();
    let line_end = |at: usize| memchr::memchr(b'\n', &data[at..]).map_or(len, |p| at + p);
    let line_start = |at: usize| memchr::memrchr(b'\n', &data[..at]).map_or(0, |p| p + 1);
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &h in hits.iter() {
        let reach = (h + WINDOW_CONTEXT).min(len);
        if let Some(last) = out.last_mut()
            && h.saturating_sub(WINDOW_CONTEXT) <= last.1
        {
            if reach > last.1 {
                last.1 = line_end(reach);
            }
            continue;
        }
        out.push((
            line_start(h.saturating_sub(WINDOW_CONTEXT)),
            line_end(reach),
        ));
    }
    out
}

/// Fingerprint of a finding: survives code moving within a file (no line numbers).
pub fn fingerprint(rule_id: &str, path: &str, secret: &[u8]) -> String {
    let secret_hash = Sha256::digest(secret);
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(secret_hash);
    hex::encode(h.finalize())
}

struct LineIndex {
    newlines: Vec<usize>,
}

/// How far from a secret (in lines, either way) its companion value is looked for.
pub const COMPANION_LINES: usize = 20;

/// The match of `re` nearest to 1-based `line` within [`COMPANION_LINES`] lines: its group 1
/// when it has one, else the whole match.
fn companion_near(
    re: &regex::bytes::Regex,
    data: &[u8],
    lines: &LineIndex,
    line: usize,
) -> Option<String> {
    let first = line.saturating_sub(COMPANION_LINES).max(1);
    let last = line + COMPANION_LINES;
    let lo = lines.start_of(first);
    let hi = lines.start_of(last + 1).min(data.len());
    re.captures_iter(&data[lo..hi])
        .filter_map(|c| c.get(1).or_else(|| c.get(0)))
        .map(|m| {
            let (at, _) = lines.line_of(lo + m.start());
            (at.abs_diff(line), m.as_bytes())
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

impl LineIndex {
    fn new(data: &[u8]) -> LineIndex {
        LineIndex {
            newlines: memchr::memchr_iter(b'\n', data).collect(),
        }
    }

    /// (1-based line, byte offset of the line start) of `offset`.
    fn line_of(&self, offset: usize) -> (usize, usize) {
        let idx = self.newlines.partition_point(|&nl| nl < offset);
        let start = if idx == 0 {
            0
        } else {
            self.newlines[idx - 1] + 1
        };
        (idx + 1, start)
    }

    /// Byte offset where 1-based `line` starts (past the end for lines after the last).
    fn start_of(&self, line: usize) -> usize {
        match line {
            0 | 1 => 0,
            n => self.newlines.get(n - 2).map_or(usize::MAX, |nl| nl + 1),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic tokens, split so that this source file does not itself contain one.
    const GH: &str = concat!("gh", "p_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");
    const GH2: &str = concat!("gh", "p_zB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");

    fn scanner() -> Scanner {
        Scanner::new(RuleSet::builtin())
    }

    #[test]
    fn finds_token_with_line_and_column() {
        let data = format!("first line\nlet t = \"{GH}\";\n");
        let f = scanner().scan("src/x.rs", data.as_bytes());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "github-pat");
        assert_eq!((f[0].line, f[0].column), (2, 10));
        assert_eq!(f[0].secret, GH);
    }

    #[test]
    fn inline_allow_silences_only_its_line() {
        let data = format!("a = \"{GH}\" # palisade:allow\nb = \"{GH2}\"\n");
        let f = scanner().scan("x", data.as_bytes());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, 2);
    }

    #[test]
    fn specific_rule_wins_over_generic_on_same_bytes() {
        let data = format!("GITHUB_TOKEN = \"{GH}\"\n");
        let f = scanner().scan("x", data.as_bytes());
        let ids: Vec<_> = f.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, vec!["github-pat"]);
    }

    #[test]
    fn fingerprint_ignores_line_but_not_path_or_secret() {
        let s = scanner();
        let a = s.scan("p", GH.as_bytes());
        let b = s.scan("p", format!("\n\n\nx = {GH}").as_bytes());
        let c = s.scan("q", GH.as_bytes());
        let d = s.scan("p", GH2.as_bytes());
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
        assert_ne!(a[0].fingerprint, c[0].fingerprint);
        assert_ne!(a[0].fingerprint, d[0].fingerprint);
    }

    #[test]
    fn invalid_utf8_around_a_secret_is_scanned() {
        let mut data = vec![0xff, 0xfe, b'\n'];
        data.extend_from_slice(format!("k = {GH} ").as_bytes());
        data.extend_from_slice(b"\xc3\x28\n");
        let f = scanner().scan("x", &data);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, 2);
    }

    #[test]
    fn entropy_gate_rejects_low_entropy_generic_values() {
        let f = scanner().scan("x", b"api_key = \"aaaaaaaaaaaaaaaaaaaaaaaa\"\n");
        assert!(f.is_empty(), "{f:?}");
        let f = scanner().scan("x", b"api_key = \"q8Zr2LmX0vB7nT4kW9sE1cY6\"\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule_id, "generic-secret");
    }

    #[test]
    fn shannon_entropy_of_known_strings() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn windows_cover_whole_lines_around_hits_and_merge() {
        let mut data = Vec::new();
        data.extend_from_slice(b"line one\nthe token here\n");
        for _ in 0..20 {
            data.extend_from_slice(&[b'x'; 60]);
            data.push(b'\n');
        }
        data.extend_from_slice(b"second token line\nlast\n");
        let first = data.windows(5).position(|w| w == b"token").unwrap_or(0);
        let second = data.windows(5).rposition(|w| w == b"token").unwrap_or(0);
        let w = windows(&data, &mut [second, first]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0].0, 0); // 256 bytes back reaches the first line
        assert_eq!(&data[w[0].1..w[0].1 + 1], b"\n"); // ends at a line end
        assert!(w[1].0 <= second && second < w[1].1);
        // Hits within reach of each other merge into one window.
        let w = windows(&data, &mut [first, first + 10]);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn a_pem_block_far_longer_than_the_window_is_found() {
        let body: String = (0..120)
            .map(|i| {
                format!(
                    "{}\n",
                    "QUJD".repeat(16).replace('Q', &(i % 10).to_string())
                )
            })
            .collect();
        let pem = format!(
            "-----BEGIN {k}-----\n{body}-----END {k}-----\n",
            k = concat!("RSA PRIVATE", " KEY")
        );
        assert!(pem.len() > 4 * WINDOW_CONTEXT * 4);
        let f = scanner().scan("id_rsa", pem.as_bytes());
        assert_eq!(
            f.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
            vec!["private-key-rsa"]
        );
        assert_eq!(f[0].end_line, 122);
    }
}
