//! The CI gate: one policy file per service says, per lifecycle phase, which findings fail the
//! pipeline; [`evaluate`] applies it to findings (read from local reports, or the server's) and
//! says why, naming the policy line that failed each one.
//!
//! ```toml
//! # palisade-gate.toml
//! [defaults]                      # every phase, unless the phase says otherwise
//! fail_on = "high"                # open findings this severe or worse fail (every kind)
//! overdue = true                  # open findings past their SLA due date fail
//! expired_acceptances = true      # a finding whose risk acceptance ran out fails
//!
//! [phase.build]
//! fail_on = { secret = "low", dependency = "high", image = "critical", config = "high" }
//!
//! [phase.release]
//! require_sbom = true             # an SBOM (CycloneDX) must be among the reports / uploads
//!
//! [[waiver]]                      # reviewed with the code; applies offline and online
//! rule = "GHSA-xxxx-yyyy-zzzz"    # or fingerprint = "…"
//! owner = "dana"
//! reason = "not reachable: the parser is never given user input"
//! expires = "2027-03-01"
//! ```
//!
//! Without a policy file, or for keys it leaves out, the built-in policy applies: fail on high
//! and critical, on overdue findings and on expired acceptances; no SBOM required.

use palisade_core::Timestamp;
use palisade_core::finding::{FindingStatus, Observed};
use palisade_core::types::{FindingKind, FindingSeverity, Phase};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

/// Why a policy file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("{file}:{line}: {message}")]
    At {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    #[serde(default)]
    defaults: Option<RulesDoc>,
    #[serde(default)]
    phase: BTreeMap<Spanned<String>, RulesDoc>,
    #[serde(default)]
    waiver: Vec<Spanned<WaiverDoc>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesDoc {
    fail_on: Option<Spanned<ThresholdDoc>>,
    overdue: Option<Spanned<bool>>,
    expired_acceptances: Option<Spanned<bool>>,
    require_sbom: Option<Spanned<bool>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ThresholdDoc {
    All(String),
    PerKind(BTreeMap<String, String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverDoc {
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    owner: String,
    reason: String,
    expires: String,
}

/// Where a decision came from: a line of the policy file, or the built-in policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// 1-based line in the policy file; `None` for the built-in policy.
    pub line: Option<usize>,
    /// The setting, as written (`[phase.build] fail_on.dependency = "high"`).
    pub setting: String,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.setting),
            None => write!(f, "built-in policy: {}", self.setting),
        }
    }
}

/// A setting with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting<T> {
    value: T,
    source: Source,
}

/// The rules of one phase, each setting with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseRules {
    /// The least severity that fails, per kind (`None`: that kind never fails on severity).
    fail_on: BTreeMap<FindingKind, Setting<Option<FindingSeverity>>>,
    overdue: Setting<bool>,
    expired_acceptances: Setting<bool>,
    require_sbom: Setting<bool>,
}

/// A waiver kept in the policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiver {
    pub fingerprint: Option<String>,
    pub rule: Option<String>,
    pub owner: String,
    pub reason: String,
    pub expires: Timestamp,
    pub line: usize,
}

impl Waiver {
    fn matches(&self, o: &Observed) -> bool {
        self.fingerprint
            .as_deref()
            .is_none_or(|f| f == o.fingerprint)
            && self.rule.as_deref().is_none_or(|r| r == o.rule)
    }
}

/// A policy: the rules of each phase, and waivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    file: String,
    phases: BTreeMap<Phase, PhaseRules>,
    defaults: PhaseRules,
    pub waivers: Vec<Waiver>,
}

fn builtin(setting: &str) -> Source {
    Source {
        line: None,
        setting: setting.to_string(),
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            file: "built-in policy".into(),
            phases: BTreeMap::new(),
            defaults: PhaseRules::builtin(),
            waivers: Vec::new(),
        }
    }
}

impl PhaseRules {
    fn builtin() -> PhaseRules {
        PhaseRules {
            fail_on: FindingKind::ALL
                .iter()
                .map(|k| {
                    (
                        *k,
                        Setting {
                            value: Some(FindingSeverity::High),
                            source: builtin("fail_on = \"high\""),
                        },
                    )
                })
                .collect(),
            overdue: Setting {
                value: true,
                source: builtin("overdue = true"),
            },
            expired_acceptances: Setting {
                value: true,
                source: builtin("expired_acceptances = true"),
            },
            require_sbom: Setting {
                value: false,
                source: builtin("require_sbom = false"),
            },
        }
    }
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn threshold(word: &str) -> Result<Option<FindingSeverity>, String> {
    match word.trim().to_ascii_lowercase().as_str() {
        "never" | "off" => Ok(None),
        w => w
            .parse::<FindingSeverity>()
            .map(Some)
            .map_err(|e| format!("{e} (or \"never\" to let that kind pass whatever its severity)")),
    }
}

impl Policy {
    /// Read a policy file (`file` names it in messages).
    ///
    /// A file named `*.yaml` or `*.yml` is read as YAML, with the same keys (`defaults`,
    /// `phase`, `waiver`) and the same checks; any other as TOML.
    pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let lower = file.to_ascii_lowercase();
        let doc: PolicyDoc = if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            yaml::policy_doc(file, text)?
        } else {
            Self::toml_doc(file, text)?
        };
        Self::from_doc(file, text, doc)
    }

    fn toml_doc(file: &str, text: &str) -> Result<PolicyDoc, PolicyError> {
        toml::from_str(text).map_err(|e| match e.span() {
            Some(s) => PolicyError::At {
                file: file.into(),
                line: line_of(text, s.start),
                message: e.message().to_string(),
            },
            None => PolicyError::File {
                file: file.into(),
                message: e.message().to_string(),
            },
        })
    }

    /// The policy of a document read from `text` (TOML or YAML: spans are byte ranges of it).
    fn from_doc(file: &str, text: &str, doc: PolicyDoc) -> Result<Policy, PolicyError> {
        let at = |span: std::ops::Range<usize>, message: String| PolicyError::At {
            file: file.into(),
            line: line_of(text, span.start),
            message,
        };
        let base = PhaseRules::builtin();
        let defaults = match &doc.defaults {
            Some(d) => apply(&base, d, "[defaults]", text, &at)?,
            None => base,
        };
        let mut phases = BTreeMap::new();
        for (name, rules) in &doc.phase {
            let phase = name
                .get_ref()
                .parse::<Phase>()
                .map_err(|e| at(name.span(), e.to_string()))?;
            let label = format!("[phase.{phase}]");
            phases.insert(phase, apply(&defaults, rules, &label, text, &at)?);
        }
        let mut waivers = Vec::new();
        for w in &doc.waiver {
            let span = w.span();
            let d = w.get_ref();
            if d.fingerprint.is_none() && d.rule.is_none() {
                return Err(at(
                    span,
                    "a waiver names the finding: `fingerprint = \"…\"` or `rule = \"…\"`".into(),
                ));
            }
            if d.owner.trim().is_empty() || d.reason.trim().chars().count() < 10 {
                return Err(at(
                    span,
                    "a waiver has an owner and a reason of at least 10 characters".into(),
                ));
            }
            let expires = parse_expiry(&d.expires).ok_or_else(|| {
                at(
                    span.clone(),
                    format!(
                        "expires {:?}: write a date (2027-03-01) or a time (2027-03-01T12:00:00Z)",
                        d.expires
                    ),
                )
            })?;
            waivers.push(Waiver {
                fingerprint: d.fingerprint.clone(),
                rule: d.rule.clone(),
                owner: d.owner.trim().to_string(),
                reason: d.reason.trim().to_string(),
                expires,
                line: line_of(text, span.start),
            });
        }
        Ok(Policy {
            file: file.to_string(),
            phases,
            defaults,
            waivers,
        })
    }

    /// The rules of `phase`.
    pub fn rules(&self, phase: Phase) -> &PhaseRules {
        self.phases.get(&phase).unwrap_or(&self.defaults)
    }

    /// The file it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }
}

type At<'a> = dyn Fn(std::ops::Range<usize>, String) -> PolicyError + 'a;

fn apply(
    base: &PhaseRules,
    doc: &RulesDoc,
    label: &str,
    text: &str,
    at: &At<'_>,
) -> Result<PhaseRules, PolicyError> {
    let mut out = base.clone();
    let src = |span: std::ops::Range<usize>, setting: String| Source {
        line: Some(line_of(text, span.start)),
        setting: format!("{label} {setting}"),
    };
    if let Some(t) = &doc.fail_on {
        match t.get_ref() {
            ThresholdDoc::All(w) => {
                let v = threshold(w).map_err(|m| at(t.span(), m))?;
                for k in FindingKind::ALL {
                    out.fail_on.insert(
                        *k,
                        Setting {
                            value: v,
                            source: src(t.span(), format!("fail_on = {w:?}")),
                        },
                    );
                }
            }
            ThresholdDoc::PerKind(map) => {
                for (k, w) in map {
                    let kind = k
                        .parse::<FindingKind>()
                        .map_err(|e| at(t.span(), e.to_string()))?;
                    let v = threshold(w).map_err(|m| at(t.span(), m))?;
                    out.fail_on.insert(
                        kind,
                        Setting {
                            value: v,
                            source: src(t.span(), format!("fail_on.{kind} = {w:?}")),
                        },
                    );
                }
            }
        }
    }
    let flag = |f: &Option<Spanned<bool>>, name: &str, into: &mut Setting<bool>| {
        if let Some(b) = f {
            *into = Setting {
                value: *b.get_ref(),
                source: src(b.span(), format!("{name} = {}", b.get_ref())),
            };
        }
    };
    flag(&doc.overdue, "overdue", &mut out.overdue);
    flag(
        &doc.expired_acceptances,
        "expired_acceptances",
        &mut out.expired_acceptances,
    );
    flag(&doc.require_sbom, "require_sbom", &mut out.require_sbom);
    Ok(out)
}

/// A date (`2027-03-01`, meaning the end of that day, UTC) or an RFC 3339 time.
pub fn parse_expiry(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = Timestamp::parse(s) {
        return Some(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt).ok()?;
    // A date means the end of that day (UTC): "expires 2027-03-01" still holds on March 1.
    let end = d.next_day()?.midnight().assume_utc();
    Some(Timestamp::from_datetime(end))
}

/// A finding as the gate sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The server's id, for findings read from the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub observed: Observed,
    pub status: FindingStatus,
    /// Open past its due date.
    pub overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// Its risk acceptance ran out.
    pub acceptance_expired: bool,
}

impl Candidate {
    /// A finding read from a local report: open, no due date.
    pub fn local(observed: Observed) -> Candidate {
        Candidate {
            id: None,
            observed,
            status: FindingStatus::Open,
            overdue: false,
            due_at: None,
            acceptance_expired: false,
        }
    }
}

/// One reason the gate failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The finding that failed it (none for a missing SBOM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<Candidate>,
    pub why: String,
    pub policy: Source,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub phase: Phase,
    pub passed: bool,
    pub failures: Vec<Failure>,
    /// Findings considered (fixed ones are not).
    pub considered: usize,
    /// Findings let through by a waiver of the policy file.
    pub waived: usize,
    /// Findings let through by an acceptance or false-positive mark on the server.
    pub accepted: usize,
    pub policy_file: String,
}

/// Decide `phase` at `now`: which of `findings` fail it under `policy`, and whether an SBOM
/// was required and missing.
pub fn evaluate(
    policy: &Policy,
    phase: Phase,
    findings: Vec<Candidate>,
    sbom_present: bool,
    now: Timestamp,
) -> Verdict {
    let rules = policy.rules(phase);
    let mut failures = Vec::new();
    let (mut considered, mut waived, mut accepted) = (0, 0, 0);
    for mut c in findings {
        if c.status == FindingStatus::Fixed {
            continue;
        }
        considered += 1;
        // The policy file's waivers: in force, the finding passes; run out, it is an expired
        // acceptance.
        if c.status == FindingStatus::Open
            && let Some(w) = policy.waivers.iter().find(|w| w.matches(&c.observed))
        {
            if now < w.expires {
                waived += 1;
                continue;
            }
            c.acceptance_expired = true;
        }
        if matches!(
            c.status,
            FindingStatus::Accepted | FindingStatus::FalsePositive
        ) {
            accepted += 1;
            continue;
        }
        let sev = rules.fail_on.get(&c.observed.kind);
        if let Some(Setting {
            value: Some(min),
            source,
        }) = sev
            && c.observed.severity >= *min
        {
            failures.push(Failure {
                why: format!(
                    "{} {} finding {} ({}){}",
                    c.observed.severity,
                    c.observed.kind,
                    c.observed.rule,
                    c.observed.title,
                    c.observed
                        .location
                        .as_deref()
                        .or(c.observed.package.as_deref())
                        .map(|l| format!(" at {l}"))
                        .unwrap_or_default()
                ),
                policy: source.clone(),
                finding: Some(c),
            });
            continue;
        }
        if c.acceptance_expired && rules.expired_acceptances.value {
            failures.push(Failure {
                why: format!(
                    "the risk acceptance of {} {} ({}) has expired",
                    c.observed.severity, c.observed.rule, c.observed.title
                ),
                policy: rules.expired_acceptances.source.clone(),
                finding: Some(c),
            });
            continue;
        }
        if c.overdue && rules.overdue.value {
            failures.push(Failure {
                why: format!(
                    "{} {} ({}) is past its due date{}",
                    c.observed.severity,
                    c.observed.rule,
                    c.observed.title,
                    c.due_at.map(|d| format!(" {d}")).unwrap_or_default()
                ),
                policy: rules.overdue.source.clone(),
                finding: Some(c),
            });
        }
    }
    if rules.require_sbom.value && !sbom_present {
        failures.push(Failure {
            finding: None,
            why: format!("no SBOM for phase {phase}: upload a CycloneDX SBOM (palisade sbom)"),
            policy: rules.require_sbom.source.clone(),
        });
    }
    Verdict {
        phase,
        passed: failures.is_empty(),
        failures,
        considered,
        waived,
        accepted,
        policy_file: policy.file.clone(),
    }
}

/// The policy file as YAML: the TOML document's keys and checks, read from a positioned YAML tree
/// so every setting keeps the line it was written on (its span is the byte range of its node).
mod yaml {
    use super::{PolicyDoc, PolicyError, RulesDoc, ThresholdDoc, WaiverDoc};
    use palisade_yaml::{Node, Value as Y};
    use std::collections::BTreeMap;
    use toml::Spanned;

    struct Reader<'a> {
        file: &'a str,
        /// Byte offset of the start of each line.
        lines: Vec<usize>,
        text: &'a str,
    }

    impl Reader<'_> {
        fn offset(&self, n: &Node) -> usize {
            let start = self
                .lines
                .get(n.line.saturating_sub(1))
                .copied()
                .unwrap_or(0);
            let line = &self.text[start..];
            start
                + line
                    .char_indices()
                    .nth(n.column.saturating_sub(1))
                    .map_or(line.len(), |(i, _)| i)
        }

        fn err(&self, n: &Node, message: String) -> PolicyError {
            PolicyError::At {
                file: self.file.to_string(),
                line: n.line,
                message,
            }
        }

        fn spanned<T>(&self, n: &Node, v: T) -> Spanned<T> {
            let at = self.offset(n);
            Spanned::new(at..at + 1, v)
        }

        fn text(&self, n: &Node, what: &str) -> Result<String, PolicyError> {
            match &n.value {
                Y::Scalar { text, .. } if !n.is_null() => Ok(text.clone()),
                _ => Err(self.err(n, format!("{what}: expected text"))),
            }
        }

        fn flag(&self, n: &Node, what: &str) -> Result<Spanned<bool>, PolicyError> {
            if n.is_true() {
                Ok(self.spanned(n, true))
            } else if n.is_false() {
                Ok(self.spanned(n, false))
            } else {
                Err(self.err(n, format!("{what}: expected true or false")))
            }
        }

        fn map<'n>(
            &self,
            n: &'n Node,
            what: &str,
            keys: &[&str],
        ) -> Result<Vec<(String, &'n Node)>, PolicyError> {
            if !n.is_map() {
                return Err(self.err(n, format!("{what}: expected a mapping")));
            }
            let mut out = Vec::new();
            for (k, v) in n.all_entries() {
                let key = k
                    .str()
                    .ok_or_else(|| self.err(k, format!("{what}: keys are text")))?
                    .to_string();
                if !keys.is_empty() && !keys.contains(&key.as_str()) {
                    return Err(self.err(
                        k,
                        format!(
                            "unknown field `{key}`, expected one of {}",
                            keys.iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                if out.iter().any(|(o, _)| *o == key) {
                    return Err(self.err(k, format!("`{key}` is written twice")));
                }
                out.push((key, v.as_ref()));
            }
            Ok(out)
        }

        fn rules(&self, n: &Node, what: &str) -> Result<RulesDoc, PolicyError> {
            let mut doc = RulesDoc::default();
            for (k, v) in self.map(
                n,
                what,
                &["fail_on", "overdue", "expired_acceptances", "require_sbom"],
            )? {
                match k.as_str() {
                    "fail_on" => {
                        let t = if v.is_map() {
                            let mut per = BTreeMap::new();
                            for (kind, sev) in self.map(v, "fail_on", &[])? {
                                per.insert(kind, self.text(sev, "fail_on")?);
                            }
                            ThresholdDoc::PerKind(per)
                        } else {
                            ThresholdDoc::All(self.text(v, "fail_on")?)
                        };
                        doc.fail_on = Some(self.spanned(v, t));
                    }
                    "overdue" => doc.overdue = Some(self.flag(v, "overdue")?),
                    "expired_acceptances" => {
                        doc.expired_acceptances = Some(self.flag(v, "expired_acceptances")?)
                    }
                    _ => doc.require_sbom = Some(self.flag(v, "require_sbom")?),
                }
            }
            Ok(doc)
        }

        fn waiver(&self, n: &Node) -> Result<WaiverDoc, PolicyError> {
            let mut w = WaiverDoc {
                fingerprint: None,
                rule: None,
                owner: String::new(),
                reason: String::new(),
                expires: String::new(),
            };
            let entries = self.map(
                n,
                "waiver",
                &["fingerprint", "rule", "owner", "reason", "expires"],
            )?;
            for (k, v) in &entries {
                let t = self.text(v, k)?;
                match k.as_str() {
                    "fingerprint" => w.fingerprint = Some(t),
                    "rule" => w.rule = Some(t),
                    "owner" => w.owner = t,
                    "reason" => w.reason = t,
                    _ => w.expires = t,
                }
            }
            for required in ["owner", "reason", "expires"] {
                if !entries.iter().any(|(k, _)| k == required) {
                    return Err(self.err(n, format!("missing field `{required}`")));
                }
            }
            Ok(w)
        }
    }

    pub(super) fn policy_doc(file: &str, text: &str) -> Result<PolicyDoc, PolicyError> {
        let docs = palisade_yaml::parse_stream(text).map_err(|e| PolicyError::At {
            file: file.into(),
            line: e.line,
            message: format!("not valid YAML: {}", e.message),
        })?;
        let mut lines = vec![0];
        lines.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let r = Reader { file, lines, text };
        let mut doc = PolicyDoc::default();
        let Some(root) = docs.first() else {
            return Ok(doc);
        };
        if docs.len() > 1 {
            return Err(PolicyError::At {
                file: file.into(),
                line: docs[1].start_line,
                message: "a policy file holds one YAML document".into(),
            });
        }
        for (k, v) in r.map(&root.root, "the policy", &["defaults", "phase", "waiver"])? {
            match k.as_str() {
                "defaults" => doc.defaults = Some(r.rules(v, "defaults")?),
                "phase" => {
                    for (name, rules) in r.map(v, "phase", &[])? {
                        let label = format!("phase.{name}");
                        let parsed = r.rules(rules, &label)?;
                        // The phase's name is reported at its rules' line.
                        doc.phase.insert(r.spanned(rules, name), parsed);
                    }
                }
                _ => {
                    let items = match &v.value {
                        Y::Seq(items) => items.clone(),
                        _ => return Err(r.err(v, "waiver: expected a list of waivers".into())),
                    };
                    for item in items {
                        let w = r.waiver(&item)?;
                        doc.waiver.push(r.spanned(&item, w));
                    }
                }
            }
        }
        Ok(doc)
    }
}
