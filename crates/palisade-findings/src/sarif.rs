//! SARIF 2.1.0 from any tool: one finding per result that is a failure and not suppressed in
//! source.
//!
//! - **Rule**: `ruleId`, else `rule.id`, else the rule at `ruleIndex`.
//! - **Severity**: the rule's or result's `security-severity` (a CVSS-like score, as GitHub code
//!   scanning reads it), else a `severity` property word, else the level (`error` high,
//!   `warning` medium, `note` low, `none` info).
//! - **Kind**: secret when the rule is tagged `secret`; dependency when tagged `vulnerability`
//!   or `dependency`; config for known configuration checkers (hadolint, checkov, kube-linter,
//!   kics, tfsec, trivy config, Palisade's `PAL-DF`/`PAL-K8S`/`PAL-DC` rules); else code.
//! - **Fingerprint**: the rule with the result's `partialFingerprints` (or `fingerprints`), which
//!   tools compute to survive line moves; without them, the rule, the file and the flagged
//!   snippet (or the message).

use crate::{Format, ReadError, Report, clip, fingerprint, severity_of, text};
use palisade_core::finding::Observed;
use palisade_core::types::{FindingKind, FindingSeverity};
use serde_json::Value;

const CONFIG_TOOLS: &[&str] = &[
    "hadolint",
    "checkov",
    "kube-linter",
    "kubelinter",
    "kics",
    "tfsec",
    "terrascan",
    "kubesec",
    "trivy-config",
];
const CONFIG_RULE_PREFIXES: &[&str] = &["PAL-DF-", "PAL-K8S-", "PAL-DC-", "DL", "CKV_", "CKV2_"];

pub(crate) fn read(v: &Value, hint: Option<FindingKind>) -> Result<Report, ReadError> {
    if let Some(ver) = v.get("version").and_then(Value::as_str)
        && !ver.starts_with("2.1")
    {
        return Err(ReadError::Malformed(format!(
            "SARIF version {ver:?}; SARIF 2.1.0 is read"
        )));
    }
    let runs = v
        .get("runs")
        .and_then(Value::as_array)
        .ok_or_else(|| ReadError::Malformed("`runs` is not an array".into()))?;
    let mut report = Report {
        format: Format::Sarif,
        tool: String::new(),
        findings: Vec::new(),
        skipped: Vec::new(),
        is_sbom: false,
        components: Vec::new(),
    };
    for (ri, run) in runs.iter().enumerate() {
        let driver = run.pointer("/tool/driver");
        let tool = driver
            .and_then(|d| text(d, "name"))
            .unwrap_or("unknown tool");
        if report.tool.is_empty() {
            report.tool = clip(&analysis(run, tool), 100);
        }
        let rules: Vec<&Value> = driver
            .and_then(|d| d.get("rules"))
            .and_then(Value::as_array)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        let Some(results) = run.get("results").and_then(Value::as_array) else {
            continue;
        };
        if results.len() > crate::MAX_RESULTS {
            return Err(ReadError::TooManyResults);
        }
        for (i, r) in results.iter().enumerate() {
            match result(r, &rules, tool, hint) {
                Ok(Some(o)) => report.findings.push(o),
                Ok(None) => {}
                Err(why) => report
                    .skipped
                    .push(format!("runs[{ri}].results[{i}]: {why}")),
            }
        }
    }
    if report.tool.is_empty() {
        report.tool = "unknown tool".into();
    }
    Ok(report)
}

/// Which analysis a run is, so two analyses by one tool are two scans: the tool, with the
/// category of `automationDetails.id` (`category/run-id`, as GitHub code scanning reads it).
/// Palisade's SARIF before it wrote a category is told apart by its fingerprints.
fn analysis(run: &Value, tool: &str) -> String {
    let category = run
        .pointer("/automationDetails/id")
        .and_then(Value::as_str)
        .map(|id| id.rsplit_once('/').map_or("", |(c, _)| c))
        .unwrap_or("")
        .trim_matches('/');
    if !category.is_empty() {
        return if category.starts_with(tool) {
            category.to_string()
        } else {
            format!("{tool} {category}")
        };
    }
    if tool == "palisade" {
        let key = run
            .pointer("/results/0/partialFingerprints")
            .and_then(Value::as_object)
            .and_then(|m| m.keys().next().cloned())
            .unwrap_or_default();
        if key.starts_with("palisadeSecret") {
            return "palisade/secrets".into();
        }
        if key.starts_with("palisadeDeps") {
            return "palisade/deps".into();
        }
        if key.starts_with("palisadeConfig") {
            return "palisade/config".into();
        }
        if key.starts_with("palisadeThreat") {
            return "palisade/threat".into();
        }
    }
    tool.to_string()
}

fn result(
    r: &Value,
    rules: &[&Value],
    tool: &str,
    hint: Option<FindingKind>,
) -> Result<Option<Observed>, String> {
    if !r.is_object() {
        return Err("not an object".into());
    }
    // Only failures are findings: `pass`, `notApplicable`, `informational`, `review` and `open`
    // results say something else.
    if let Some(k) = text(r, "kind")
        && k != "fail"
    {
        return Ok(None);
    }
    if text(r, "baselineState") == Some("absent") {
        return Ok(None);
    }
    // Suppressed in source (and not rejected in review).
    if let Some(s) = r.get("suppressions").and_then(Value::as_array)
        && !s.is_empty()
        && s.iter()
            .all(|x| !matches!(text(x, "status"), Some("rejected" | "underReview")))
    {
        return Ok(None);
    }
    let index = r
        .get("ruleIndex")
        .or_else(|| r.pointer("/rule/index"))
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok());
    let rule_id = text(r, "ruleId")
        .or_else(|| r.get("rule").and_then(|x| text(x, "id")))
        .map(str::to_string)
        .or_else(|| {
            index
                .and_then(|i| rules.get(i))
                .and_then(|x| text(x, "id"))
                .map(str::to_string)
        })
        .ok_or("no ruleId, rule.id or ruleIndex")?;
    let rule = index
        .and_then(|i| rules.get(i).copied())
        .filter(|x| text(x, "id") == Some(rule_id.as_str()))
        .or_else(|| {
            rules
                .iter()
                .copied()
                .find(|x| text(x, "id") == Some(rule_id.as_str()))
        });
    let message = r
        .pointer("/message/text")
        .and_then(Value::as_str)
        .unwrap_or("");
    let title = rule
        .and_then(|x| x.pointer("/shortDescription/text"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(if message.is_empty() {
            &rule_id
        } else {
            message
        });

    let props = |x: Option<&Value>, key: &str| -> Option<FindingSeverity> {
        x.and_then(|x| x.pointer(&format!("/properties/{key}")))
            .and_then(severity_of)
    };
    let level = text(r, "level")
        .or_else(|| rule.and_then(|x| x.pointer("/defaultConfiguration/level")?.as_str()))
        .unwrap_or("warning");
    let severity = props(Some(r), "security-severity")
        .or_else(|| props(rule, "security-severity"))
        .or_else(|| props(Some(r), "severity"))
        .or_else(|| props(rule, "severity"))
        .unwrap_or(match level {
            "error" => FindingSeverity::High,
            "warning" => FindingSeverity::Medium,
            "note" => FindingSeverity::Low,
            _ => FindingSeverity::Info,
        });

    let tags: Vec<String> = rule
        .and_then(|x| x.pointer("/properties/tags"))
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let partial = r
        .get("partialFingerprints")
        .or_else(|| r.get("fingerprints"))
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty());
    let kind = hint.unwrap_or_else(|| {
        let t = tool.to_ascii_lowercase();
        if tags.iter().any(|t| t == "threat-model")
            || partial.is_some_and(|m| m.contains_key("palisadeThreat/v1"))
        {
            FindingKind::Threat
        } else if tags.iter().any(|t| t.contains("secret")) {
            FindingKind::Secret
        } else if tags
            .iter()
            .any(|t| t == "vulnerability" || t == "dependency" || t == "supply-chain")
            || partial.is_some_and(|m| m.contains_key("palisadeDeps/v1"))
        {
            FindingKind::Dependency
        } else if CONFIG_TOOLS.iter().any(|c| t.contains(c))
            || CONFIG_RULE_PREFIXES.iter().any(|p| rule_id.starts_with(p))
        {
            FindingKind::Config
        } else {
            FindingKind::Code
        }
    });

    let loc = r.pointer("/locations/0/physicalLocation");
    let uri = loc
        .and_then(|l| l.pointer("/artifactLocation/uri"))
        .and_then(Value::as_str);
    let line = loc
        .and_then(|l| l.pointer("/region/startLine"))
        .and_then(Value::as_u64);
    let location = uri.map(|u| match line {
        Some(l) => format!("{u}:{l}"),
        None => u.to_string(),
    });

    let fp = match partial {
        Some(m) => {
            let mut parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(&v.to_string())))
                .collect();
            parts.sort();
            let mut all = vec![rule_id.as_str()];
            all.extend(parts.iter().map(String::as_str));
            fingerprint(&all)
        }
        None => {
            let snippet = loc
                .and_then(|l| l.pointer("/region/snippet/text"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(message);
            fingerprint(&[&rule_id, uri.unwrap_or(""), snippet])
        }
    };
    Ok(Some(Observed {
        fingerprint: fp,
        kind,
        rule: clip(&rule_id, 200),
        title: clip(title, 1000),
        severity,
        location: location.map(|l| clip(&l, 1000)),
        package: None,
    }))
}
