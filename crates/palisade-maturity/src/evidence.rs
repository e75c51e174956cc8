//! Evidence from Palisade's own record: facts about what the teams actually do (scans uploaded
//! from CI, SBOMs per environment, threat models, alert integrations and on-call, incidents and
//! postmortems), and rules that turn facts into **proposed** answers for model items, each with
//! the facts and links that support it. A proposal is written with `by: palisade`; a person
//! confirms it (`confirmed_by`, `confirmed_at` on the answer), changes it or deletes it, and until
//! it is confirmed it is scored as unanswered ([`counted`]).
//!
//! The facts are computed here from plain records ([`Record`]) that the caller gathered (the
//! CLI asks the server's API), so the logic is pure and tested without a server. Most facts are
//! **coverages**: the share of services (0 to 1) where a practice is seen, which maps onto SAMM's
//! answer scale ("some", "at least half", "most or all").
//!
//! Rules are data (`evidence/palisade.toml` is compiled in; `--evidence FILE` adds or replaces):
//!
//! ```toml
//! [[evidence]]
//! model = "samm"
//! item = "D-TA-B-1"
//! when = ["coverage.threat_model > 0"]            # every condition: FACT OP NUMBER
//! answer = { coverage = "coverage.threat_model" } # or a literal: 0.5, "implemented"
//! because = "threat models checked and uploaded in the design phase"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::answers::{Evidence, Kind};

/// Who proposed an answer Palisade derived (`by: palisade`, on the answer or its assessment).
pub const PROPOSER: &str = "palisade";

/// Items of `a` whose answers Palisade proposed and nobody has confirmed yet.
pub fn unconfirmed(a: &crate::Assessment) -> Vec<String> {
    a.answers
        .iter()
        .filter(|(_, x)| {
            x.given != crate::answers::Given::Nothing
                && x.by.as_deref().or(a.by.as_deref()) == Some(PROPOSER)
                && x.confirmed_by.is_none()
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// `a` as scored: Palisade's unconfirmed proposals read as unanswered.
pub fn counted(a: &crate::Assessment) -> crate::Assessment {
    let mut out = a.clone();
    for id in unconfirmed(a) {
        if let Some(x) = out.answers.get_mut(&id) {
            x.given = crate::answers::Given::Nothing;
        }
    }
    out
}

/// The built-in rules.
pub const BUILTIN: &str = include_str!("../evidence/palisade.toml");

/// A scan of a service as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub phase: String,
    pub tool: String,
    #[serde(default)]
    pub name: Option<String>,
    pub runs: u64,
    /// RFC 3339.
    #[serde(default)]
    pub last_run_at: Option<String>,
    #[serde(default)]
    pub last_format: Option<String>,
}

/// A service and what Palisade holds about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub name: String,
    /// Where its page is (for links).
    pub url: String,
    pub scans: Vec<ScanRecord>,
    /// It has an escalation policy (someone is paged).
    pub on_call: bool,
    /// It has an alert integration (monitoring sends to Palisade).
    pub alerting: bool,
    /// Open findings past their due date, and how many of those are high or critical.
    pub overdue: u64,
    pub overdue_high: u64,
}

/// A security incident as the server lists it, with its postmortem's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub codename: String,
    pub url: String,
    pub status: String,
    pub commander: bool,
    /// `draft`, `in_review`, `reviewed`, `closed`, or none.
    pub postmortem: Option<String>,
    /// RFC 3339.
    pub declared_at: String,
    /// A drill (a training incident): counted as a drill run, never as a security incident.
    #[serde(default)]
    pub drill: bool,
}

/// What the caller gathered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub services: Vec<ServiceRecord>,
    pub incidents: Vec<IncidentRecord>,
}

/// One fact: a number, what it means, and where to see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub value: f64,
    pub detail: String,
    pub links: Vec<String>,
}

/// Every fact by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facts {
    pub facts: BTreeMap<String, Fact>,
}

/// Days from `from` to `to`, both RFC 3339 or `YYYY-MM-DD` (the date part is read).
fn days_between(from: &str, to: &str) -> Option<i64> {
    let day = |s: &str| {
        time::Date::parse(
            s.get(0..10)?,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
    };
    Some((day(to)? - day(from)?).whole_days())
}

/// Tools whose results are of a kind, by the words of the tool's name or the report's format.
fn is_secrets(s: &ScanRecord) -> bool {
    let t = s.tool.to_ascii_lowercase();
    ["secret", "gitleaks", "trufflehog", "detect-secrets"]
        .iter()
        .any(|w| t.contains(w))
}
fn is_sbom(s: &ScanRecord) -> bool {
    matches!(s.last_format.as_deref(), Some("cyclonedx" | "spdx"))
}
fn is_deps(s: &ScanRecord) -> bool {
    let t = s.tool.to_ascii_lowercase();
    is_sbom(s)
        || matches!(s.last_format.as_deref(), Some("osv-scanner"))
        || [
            "deps",
            "dependenc",
            "osv",
            "audit",
            "snyk",
            "dependabot",
            "grype",
            "trivy",
        ]
        .iter()
        .any(|w| t.contains(w))
}
fn is_config(s: &ScanRecord) -> bool {
    let t = s.tool.to_ascii_lowercase();
    [
        "config",
        "hadolint",
        "checkov",
        "kube-linter",
        "kubelinter",
        "tfsec",
        "kics",
    ]
    .iter()
    .any(|w| t.contains(w))
}
fn is_image(s: &ScanRecord) -> bool {
    s.tool.to_ascii_lowercase().contains("image")
}
fn is_threat(s: &ScanRecord) -> bool {
    s.phase == "design" || s.tool.to_ascii_lowercase().contains("threat")
}

impl Facts {
    /// The facts of `record` on `today` (`YYYY-MM-DD`).
    pub fn from_record(record: &Record, today: &str) -> Facts {
        let mut f = Facts::default();
        let n = record.services.len();
        let recent = |s: &ScanRecord, days: i64| {
            s.last_run_at
                .as_deref()
                .and_then(|at| days_between(at, today))
                .is_some_and(|d| d <= days)
        };
        let mut coverage = |name: &str, detail: &str, test: &dyn Fn(&ServiceRecord) -> bool| {
            let hits: Vec<&ServiceRecord> = record.services.iter().filter(|s| test(s)).collect();
            let value = if n == 0 {
                0.0
            } else {
                hits.len() as f64 / n as f64
            };
            f.facts.insert(
                name.to_string(),
                Fact {
                    value,
                    detail: format!("{detail}: {} of {n} service(s)", hits.len()),
                    links: hits.iter().map(|s| s.url.clone()).collect(),
                },
            );
        };
        let code_phase = |s: &ScanRecord| matches!(s.phase.as_str(), "code" | "build");
        coverage(
            "coverage.secrets",
            "secret scans in CI, last 90 days",
            &|svc| {
                svc.scans
                    .iter()
                    .any(|s| code_phase(s) && is_secrets(s) && recent(s, 90))
            },
        );
        coverage(
            "coverage.dependencies",
            "dependency scans in CI, last 90 days",
            &|svc| {
                svc.scans
                    .iter()
                    .any(|s| code_phase(s) && is_deps(s) && recent(s, 90))
            },
        );
        coverage("coverage.sbom", "SBOMs uploaded", &|svc| {
            svc.scans.iter().any(is_sbom)
        });
        coverage(
            "coverage.sbom_deployed",
            "SBOMs of what runs, per environment",
            &|svc| svc.scans.iter().any(|s| s.phase == "deploy" && is_sbom(s)),
        );
        coverage(
            "coverage.monitored",
            "deployed SBOMs re-matched, with an on-call to page",
            &|svc| svc.on_call && svc.scans.iter().any(|s| s.phase == "deploy" && is_sbom(s)),
        );
        coverage(
            "coverage.config",
            "configuration checks, last 90 days",
            &|svc| svc.scans.iter().any(|s| is_config(s) && recent(s, 90)),
        );
        coverage("coverage.image", "image scans, last 90 days", &|svc| {
            svc.scans.iter().any(|s| is_image(s) && recent(s, 90))
        });
        coverage("coverage.threat_model", "threat models uploaded", &|svc| {
            svc.scans.iter().any(is_threat)
        });
        coverage(
            "coverage.threat_model_reviewed",
            "threat models uploaded again in the last 180 days",
            &|svc| {
                svc.scans
                    .iter()
                    .any(|s| is_threat(s) && s.runs >= 2 && recent(s, 180))
            },
        );
        coverage(
            "coverage.automated_scans",
            "automated scans in CI, last 90 days",
            &|svc| {
                svc.scans
                    .iter()
                    .any(|s| code_phase(s) && !is_threat(s) && recent(s, 90))
            },
        );
        coverage(
            "coverage.findings_tracked",
            "scan results tracked as findings",
            &|svc| svc.scans.iter().any(|s| s.runs >= 1),
        );
        coverage(
            "coverage.multiple_scanners",
            "three or more kinds of scan uploaded",
            &|svc| {
                let kinds = [
                    svc.scans.iter().any(is_secrets),
                    svc.scans.iter().any(is_deps),
                    svc.scans.iter().any(is_config),
                    svc.scans.iter().any(is_image),
                    svc.scans.iter().any(|s| {
                        !is_secrets(s)
                            && !is_deps(s)
                            && !is_config(s)
                            && !is_image(s)
                            && !is_threat(s)
                    }),
                ];
                kinds.iter().filter(|k| **k).count() >= 3
            },
        );
        coverage(
            "coverage.on_call",
            "services with an escalation policy",
            &|svc| svc.on_call,
        );
        coverage(
            "coverage.alerting",
            "services sending alerts to Palisade",
            &|svc| svc.alerting,
        );
        let overdue: u64 = record.services.iter().map(|s| s.overdue).sum();
        let overdue_high: u64 = record.services.iter().map(|s| s.overdue_high).sum();
        f.facts.insert(
            "findings.overdue".into(),
            Fact {
                value: overdue as f64,
                detail: format!("{overdue} open finding(s) past their due date"),
                links: record
                    .services
                    .iter()
                    .filter(|s| s.overdue > 0)
                    .map(|s| s.url.clone())
                    .collect(),
            },
        );
        f.facts.insert(
            "findings.overdue_high".into(),
            Fact {
                value: overdue_high as f64,
                detail: format!("{overdue_high} high or critical finding(s) past their due date"),
                links: record
                    .services
                    .iter()
                    .filter(|s| s.overdue_high > 0)
                    .map(|s| s.url.clone())
                    .collect(),
            },
        );
        let within_year =
            |i: &&IncidentRecord| days_between(&i.declared_at, today).is_some_and(|d| d <= 365);
        let drills: Vec<&IncidentRecord> = record
            .incidents
            .iter()
            .filter(|i| i.drill)
            .filter(within_year)
            .filter(|i| matches!(i.status.as_str(), "resolved" | "closed"))
            .collect();
        f.facts.insert(
            "drills.run".into(),
            Fact {
                value: drills.len() as f64,
                detail: format!(
                    "{} drill(s) run to the end in the last 365 days",
                    drills.len()
                ),
                links: drills.iter().map(|i| i.url.clone()).collect(),
            },
        );
        // Drills are training: never counted as security incidents.
        let year: Vec<&IncidentRecord> = record
            .incidents
            .iter()
            .filter(|i| !i.drill)
            .filter(within_year)
            .collect();
        let share = |part: usize, whole: usize| {
            if whole == 0 {
                0.0
            } else {
                part as f64 / whole as f64
            }
        };
        let commanded: Vec<&&IncidentRecord> = year.iter().filter(|i| i.commander).collect();
        f.facts.insert(
            "incidents.security".into(),
            Fact {
                value: year.len() as f64,
                detail: format!("{} security incident(s) in the last 365 days", year.len()),
                links: year.iter().map(|i| i.url.clone()).collect(),
            },
        );
        f.facts.insert(
            "incidents.commanded".into(),
            Fact {
                value: share(commanded.len(), year.len()),
                detail: format!(
                    "{} of {} with an incident commander",
                    commanded.len(),
                    year.len()
                ),
                links: commanded.iter().map(|i| i.url.clone()).collect(),
            },
        );
        let finished: Vec<&&IncidentRecord> = year
            .iter()
            .filter(|i| matches!(i.status.as_str(), "resolved" | "closed"))
            .collect();
        let reviewed: Vec<&&&IncidentRecord> = finished
            .iter()
            .filter(|i| matches!(i.postmortem.as_deref(), Some("reviewed" | "closed")))
            .collect();
        f.facts.insert(
            "incidents.finished".into(),
            Fact {
                value: finished.len() as f64,
                detail: format!("{} resolved or closed in the last 365 days", finished.len()),
                links: finished.iter().map(|i| i.url.clone()).collect(),
            },
        );
        f.facts.insert(
            "incidents.postmortems".into(),
            Fact {
                value: share(reviewed.len(), finished.len()),
                detail: format!(
                    "{} of {} with a reviewed or closed postmortem",
                    reviewed.len(),
                    finished.len()
                ),
                links: reviewed.iter().map(|i| i.url.clone()).collect(),
            },
        );
        f
    }
}

/// A comparison in a rule's `when`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub fact: String,
    pub op: String,
    pub value: f64,
}

impl Condition {
    fn parse(text: &str) -> Result<Condition, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [fact, op, value] = parts.as_slice() else {
            return Err(format!(
                "`{text}`: write FACT OP NUMBER, e.g. `coverage.secrets >= 0.5`"
            ));
        };
        if !["==", "!=", "<", "<=", ">", ">="].contains(op) {
            return Err(format!(
                "`{text}`: `{op}` is not one of ==, !=, <, <=, >, >="
            ));
        }
        let value = value
            .parse::<f64>()
            .map_err(|_| format!("`{text}`: `{value}` is not a number"))?;
        Ok(Condition {
            fact: fact.to_string(),
            op: op.to_string(),
            value,
        })
    }

    fn holds(&self, v: f64) -> bool {
        match self.op.as_str() {
            "==" => v == self.value,
            "!=" => v != self.value,
            "<" => v < self.value,
            "<=" => v <= self.value,
            ">" => v > self.value,
            _ => v >= self.value,
        }
    }
}

/// What a rule proposes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Proposed {
    Number(f64),
    Text(String),
    /// SAMM's scale from a share: none 0, some 0.25, at least half 0.5, three quarters 1.
    Coverage {
        coverage: String,
    },
}

/// A rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub model: Kind,
    pub item: String,
    pub when: Vec<Condition>,
    pub answer: Proposed,
    pub because: String,
    #[serde(skip)]
    pub file: PathBuf,
    #[serde(skip)]
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesDoc {
    #[serde(default)]
    evidence: Vec<toml::Spanned<RuleDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    model: Kind,
    item: String,
    #[serde(default)]
    when: Vec<String>,
    answer: AnswerDoc,
    because: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AnswerDoc {
    Number(f64),
    Text(String),
    Coverage { coverage: String },
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Rules from TOML text (`file` names it in errors). Every fact a rule names must be one the
/// facts have (`known`), so a misspelt fact is an error, never a rule that silently never fires.
pub fn parse_rules(file: &Path, text: &str, known: &BTreeSet<String>) -> Result<Vec<Rule>, Error> {
    let doc: RulesDoc = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        Error::at(file, line, 1, e.message().to_string())
    })?;
    let mut out = Vec::new();
    for spanned in doc.evidence {
        let line = line_of(text, spanned.span().start);
        let d = spanned.into_inner();
        let at = |m: String| Error::at(file, line, 1, m);
        let mut when = Vec::new();
        for c in &d.when {
            let c = Condition::parse(c).map_err(at)?;
            check_fact(&c.fact, known).map_err(at)?;
            when.push(c);
        }
        let answer = match d.answer {
            AnswerDoc::Number(n) => Proposed::Number(n),
            AnswerDoc::Text(t) => Proposed::Text(t),
            AnswerDoc::Coverage { coverage } => {
                check_fact(&coverage, known).map_err(at)?;
                if d.model != Kind::Samm {
                    return Err(at(format!(
                        "item {}: `coverage` answers are SAMM's scale; give {} a status",
                        d.item, d.model
                    )));
                }
                Proposed::Coverage { coverage }
            }
        };
        if d.because.trim().is_empty() {
            return Err(at(format!(
                "item {}: `because` says what the facts show",
                d.item
            )));
        }
        out.push(Rule {
            model: d.model,
            item: d.item,
            when,
            answer,
            because: d.because,
            file: file.to_path_buf(),
            line,
        });
    }
    Ok(out)
}

fn check_fact(name: &str, known: &BTreeSet<String>) -> Result<(), String> {
    if known.contains(name) {
        return Ok(());
    }
    let hint = crate::answers::suggest(name, known.iter().map(String::as_str))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    Err(format!(
        "no fact `{name}`{hint}; docs/maturity.md lists them"
    ))
}

/// The names of every fact [`Facts::from_record`] gives.
pub fn fact_names() -> BTreeSet<String> {
    Facts::from_record(&Record::default(), "2026-01-01")
        .facts
        .into_keys()
        .collect()
}

/// The built-in rules.
pub fn builtin() -> Vec<Rule> {
    parse_rules(Path::new("evidence/palisade.toml"), BUILTIN, &fact_names())
        // Tested to load; a broken built-in file is a build defect.
        .unwrap_or_else(|e| panic!("built-in evidence rules: {e}"))
}

/// A proposed answer for one item, with what supports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub item: String,
    /// A SAMM value, or a DSOMM/BSIMM status.
    pub value: serde_json::Value,
    pub because: String,
    /// The facts the rule read, with their values and meaning.
    pub facts: Vec<(String, f64, String)>,
    pub evidence: Vec<Evidence>,
}

/// SAMM's answer for a share of services.
pub fn coverage_answer(share: f64) -> f64 {
    if share >= 0.75 {
        1.0
    } else if share >= 0.5 {
        0.5
    } else if share > 0.0 {
        0.25
    } else {
        0.0
    }
}

/// The proposals `rules` make for a model of `kind` with `items`, on `facts`. An item named by
/// several rules gets the first that holds.
pub fn propose(
    kind: Kind,
    rules: &[Rule],
    facts: &Facts,
    items: &BTreeSet<String>,
) -> Vec<Proposal> {
    let mut out: Vec<Proposal> = Vec::new();
    for r in rules
        .iter()
        .filter(|r| r.model == kind && items.contains(&r.item))
    {
        if out.iter().any(|p| p.item == r.item) {
            continue;
        }
        let value_of = |name: &str| facts.facts.get(name).map_or(0.0, |f| f.value);
        if !r.when.iter().all(|c| c.holds(value_of(&c.fact))) {
            continue;
        }
        let mut read: Vec<&str> = r.when.iter().map(|c| c.fact.as_str()).collect();
        let value = match &r.answer {
            Proposed::Number(n) => serde_json::json!(n),
            Proposed::Text(t) => serde_json::json!(t),
            Proposed::Coverage { coverage } => {
                read.push(coverage);
                serde_json::json!(coverage_answer(value_of(coverage)))
            }
        };
        read.sort();
        read.dedup();
        let mut links = BTreeSet::new();
        let mut used = Vec::new();
        for name in read {
            if let Some(f) = facts.facts.get(name) {
                used.push((name.to_string(), f.value, f.detail.clone()));
                links.extend(f.links.iter().cloned());
            }
        }
        out.push(Proposal {
            item: r.item.clone(),
            value,
            because: r.because.clone(),
            facts: used,
            evidence: links
                .into_iter()
                .map(|url| Evidence { url, note: None })
                .collect(),
        });
    }
    out
}
