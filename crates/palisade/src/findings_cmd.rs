//! `palisade upload`, `palisade findings …` and `palisade gate`: reports uploaded to a service's
//! findings, the findings listed and triaged, and the CI gate (offline on local reports, or on
//! the server's findings).

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use palisade_core::Timestamp;
use palisade_core::finding::Observed;
use palisade_core::types::{FindingKind, FindingSeverity, Phase};
use palisade_findings::gate::{Candidate, Policy, Verdict, evaluate, parse_expiry};
use palisade_server::routes::findings::{
    FindingList, FindingView, RematchView, ScanList, UploadView,
};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `palisade upload`.
#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The service the reports are about (name or id).
    #[arg(long)]
    service: String,
    /// The lifecycle phase the scans ran in: design (threat models), code, build, release or
    /// deploy.
    #[arg(long)]
    phase: Phase,
    /// The scan's tool (default: as each report names itself).
    #[arg(long)]
    tool: Option<String>,
    /// One of several scans of a tool in a phase (a monorepo's part), so their findings are
    /// compared separately.
    #[arg(long)]
    name: Option<String>,
    /// The kind of every finding, for reports that do not say: secret, dependency, image,
    /// config, code or threat.
    #[arg(long)]
    kind: Option<FindingKind>,
    /// For an SBOM (CycloneDX or SPDX): the environment it is what runs in. The server keeps
    /// it and matches it again whenever the vulnerability index changes; a new critical or high
    /// finding pages the service's on-call.
    #[arg(long)]
    environment: Option<String>,
    /// With --environment: the release deployed (a version or tag).
    #[arg(long, requires = "environment")]
    release: Option<String>,
    /// Reports: SARIF 2.1.0 (any tool), CycloneDX JSON, SPDX JSON, OSV-Scanner JSON, or
    /// Palisade's JSON.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand, Debug)]
pub enum FindingsCmd {
    /// Findings as they stand now, most severe first.
    List {
        /// One service's (name or id).
        #[arg(long)]
        service: Option<String>,
        /// One phase's: code, build, release or deploy.
        #[arg(long)]
        phase: Option<Phase>,
        /// One kind's: secret, dependency, image, config or code.
        #[arg(long)]
        kind: Option<FindingKind>,
        /// open, accepted, false_positive or fixed.
        #[arg(long)]
        status: Option<String>,
        /// At least this severe: critical, high, medium, low or info.
        #[arg(long)]
        min_severity: Option<FindingSeverity>,
        /// Only open findings past their due date.
        #[arg(long)]
        overdue: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A finding with its history: opened, fixed, reopened, accepted — by whom and when.
    Show {
        /// The finding's id.
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Accept an open finding's risk until a date, with a reason (a waiver on the ledger).
    Accept {
        /// The finding's id.
        id: String,
        /// Why the risk is acceptable (10–2,000 characters; an auditor will read it).
        #[arg(long)]
        reason: String,
        /// When the acceptance ends: a date (2027-03-01, the end of that day UTC) or an RFC 3339
        /// time; at most 366 days ahead.
        #[arg(long)]
        expires: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Mark an open finding a false positive, with a reason.
    FalsePositive {
        /// The finding's id.
        id: String,
        /// Why it is not a real problem (10–2,000 characters).
        #[arg(long)]
        reason: String,
        /// When the mark ends (optional): a date or an RFC 3339 time.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Match every deployed SBOM against the server's vulnerability index now (admins; the
    /// server also does it by itself within a minute of `palisade db import|update`).
    Rematch {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Withdraw an acceptance or false-positive mark: the finding counts as open again.
    Reopen {
        /// The finding's id.
        id: String,
        /// Why (10–2,000 characters).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `palisade gate`.
#[derive(Args, Debug)]
pub struct GateArgs {
    /// The phase to decide: design (threat models), code, build, release or deploy.
    #[arg(long)]
    phase: Phase,
    /// Decide on the server's findings of this service (name or id), after uploading the
    /// reports given; without it, the reports are decided offline.
    #[arg(long)]
    service: Option<String>,
    /// The policy file, TOML or YAML (`*.yaml`, `*.yml`) [default: ./palisade-gate.toml, .yaml or
    /// .yml when one exists, else the built-in policy:
    /// fail on high and critical findings, overdue findings and expired acceptances].
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Decide as of this time (a date or an RFC 3339 time), e.g. to see what fails once a
    /// waiver runs out [default: now].
    #[arg(long)]
    at: Option<String>,
    /// The kind of every finding in the reports, for reports that do not say.
    #[arg(long)]
    kind: Option<FindingKind>,
    /// Reports (SARIF, CycloneDX, OSV-Scanner or Palisade JSON).
    files: Vec<PathBuf>,
    #[command(flatten)]
    client: ClientArgs,
}

fn when(s: &str, what: &str) -> anyhow::Result<Timestamp> {
    parse_expiry(s).ok_or_else(|| {
        anyhow!(
            "{what} {s:?}: write a date (2027-03-01) or an RFC 3339 time (2027-03-01T12:00:00Z)"
        )
    })
}

fn read_report(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.len() > palisade_findings::MAX_REPORT_BYTES as u64 {
        return Err(anyhow!(
            "{}: {} bytes; a report is at most {} bytes (split it by scan with --name)",
            path.display(),
            meta.len(),
            palisade_findings::MAX_REPORT_BYTES
        ));
    }
    std::fs::read(path).with_context(|| format!("{}", path.display()))
}

/// Which scan reports go to, beyond service and phase.
#[derive(Default)]
struct ScanOptions<'a> {
    tool: Option<&'a str>,
    name: Option<&'a str>,
    kind: Option<FindingKind>,
    environment: Option<&'a str>,
    release: Option<&'a str>,
}

/// Upload each file; the uploads' answers. A file that cannot be read or is refused is
/// reported and the others still go.
async fn upload_all(
    c: &Client,
    service: &str,
    phase: Phase,
    scan: &ScanOptions<'_>,
    files: &[PathBuf],
) -> (Vec<(PathBuf, UploadView)>, usize) {
    let mut query = format!("phase={phase}");
    for (k, v) in [
        ("tool", scan.tool),
        ("name", scan.name),
        ("kind", scan.kind.map(|k| k.as_str())),
        ("environment", scan.environment),
        ("release", scan.release),
    ] {
        if let Some(v) = v {
            query.push_str(&format!("&{k}={}", seg(v)));
        }
    }
    let path = format!("/api/v1/services/{}/findings/uploads?{query}", seg(service));
    let mut done = Vec::new();
    let mut failed = 0;
    for f in files {
        let r = match read_report(f) {
            Ok(bytes) => c.post_bytes::<UploadView>(&path, bytes).await,
            Err(e) => Err(e),
        };
        match r {
            Ok(v) => done.push((f.clone(), v)),
            Err(e) => {
                failed += 1;
                errln!("error: {}: {e:#}", f.display());
            }
        }
    }
    (done, failed)
}

pub async fn run_upload(a: UploadArgs) -> anyhow::Result<Outcome> {
    let c = Client::new(&a.client)?;
    let scan = ScanOptions {
        tool: a.tool.as_deref(),
        name: a.name.as_deref(),
        kind: a.kind,
        environment: a.environment.as_deref(),
        release: a.release.as_deref(),
    };
    let (done, failed) = upload_all(&c, &a.service, a.phase, &scan, &a.files).await;
    match a.client.format {
        Format::Json => outln!("{}", json(&done.iter().map(|(_, v)| v).collect::<Vec<_>>())),
        Format::Table => {
            for (f, v) in &done {
                outln!(
                    "{}: {} run {} of {} ({}): {} results — {} new, {} fixed, {} reopened, {} unchanged",
                    f.display(),
                    v.phase,
                    v.run,
                    v.tool,
                    v.format,
                    v.results,
                    v.new,
                    v.fixed,
                    v.reopened,
                    v.unchanged
                );
                for s in &v.skipped {
                    outln!("  skipped {s}");
                }
                if let Some(m) = &v.monitored {
                    outln!(
                        "  matched against the vulnerability index: {} new, {} fixed, {} reopened",
                        m.new,
                        m.fixed,
                        m.reopened
                    );
                }
            }
        }
    }
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} reports were not uploaded",
            a.files.len()
        ));
    }
    Ok(Outcome::Ok)
}

fn print_finding(v: &FindingView, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            outln!("{} {} {} — {}", v.severity, v.kind, v.rule, v.title);
            outln!("  id {}; {}", v.id, status_text(v));
            if let Some(l) = v.location.as_ref().or(v.package.as_ref()) {
                outln!("  at {l}");
            }
            outln!(
                "  phase {}; first seen {}; due {}",
                v.phase,
                v.first_seen,
                v.due_at.as_deref().unwrap_or("—")
            );
            if let Some(t) = &v.triage {
                outln!(
                    "  {} by {} at {}{}: {}",
                    t.kind,
                    t.by,
                    t.at,
                    t.expires_at
                        .as_ref()
                        .map(|e| format!(" until {e}"))
                        .unwrap_or_default(),
                    t.reason
                );
            }
            outln!();
            let rows: Vec<Vec<String>> = v
                .history
                .iter()
                .map(|h| {
                    vec![
                        h.seq.to_string(),
                        h.recorded_at.clone(),
                        h.actor.clone(),
                        h.description.clone(),
                    ]
                })
                .collect();
            out!("{}", table(&["#", "recorded", "by", "event"], &rows));
        }
    }
}

fn status_text(v: &FindingView) -> String {
    let mut s = v.status.clone();
    if v.overdue {
        s.push_str(", overdue");
    }
    if v.acceptance_expired {
        s.push_str(", acceptance expired");
    }
    s
}

pub async fn run_findings(cmd: FindingsCmd) -> anyhow::Result<Outcome> {
    let (client, path, body) = match cmd {
        FindingsCmd::List {
            service,
            phase,
            kind,
            status,
            min_severity,
            overdue,
            limit,
            client,
        } => {
            let c = Client::new(&client)?;
            let mut q = vec![format!("limit={limit}")];
            if let Some(s) = &service {
                q.push(format!("service={}", seg(s)));
            }
            if let Some(p) = phase {
                q.push(format!("phase={p}"));
            }
            if let Some(k) = kind {
                q.push(format!("kind={k}"));
            }
            if let Some(s) = &status {
                q.push(format!("status={}", seg(s)));
            }
            if let Some(m) = min_severity {
                q.push(format!("min_severity={m}"));
            }
            if overdue {
                q.push("overdue=true".into());
            }
            let list: FindingList = c.get(&format!("/api/v1/findings?{}", q.join("&"))).await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .findings
                        .iter()
                        .map(|f| {
                            vec![
                                f.severity.clone(),
                                status_text(f),
                                f.kind.clone(),
                                f.rule.clone(),
                                f.location.clone().or(f.package.clone()).unwrap_or_default(),
                                f.due_at.clone().unwrap_or_default(),
                                f.id.to_string(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(
                            &["SEVERITY", "STATUS", "KIND", "RULE", "WHERE", "DUE", "ID"],
                            &rows
                        )
                    );
                    if list.total > list.findings.len() {
                        outln!(
                            "({} of {}; --limit shows more)",
                            list.findings.len(),
                            list.total
                        );
                    }
                }
            }
            return Ok(Outcome::Ok);
        }
        FindingsCmd::Show { id, client } => {
            let c = Client::new(&client)?;
            let v: FindingView = c.get(&format!("/api/v1/findings/{}", seg(&id))).await?;
            print_finding(&v, client.format);
            return Ok(Outcome::Ok);
        }
        FindingsCmd::Accept {
            id,
            reason,
            expires,
            client,
        } => {
            let e = when(&expires, "--expires")?;
            (
                client,
                format!("/api/v1/findings/{}/accept", seg(&id)),
                json!({"reason": reason, "expires_at": e.to_string()}),
            )
        }
        FindingsCmd::FalsePositive {
            id,
            reason,
            expires,
            client,
        } => {
            let e = expires.map(|e| when(&e, "--expires")).transpose()?;
            (
                client,
                format!("/api/v1/findings/{}/false-positive", seg(&id)),
                json!({"reason": reason, "expires_at": e.map(|e| e.to_string())}),
            )
        }
        FindingsCmd::Rematch { client } => {
            let c = Client::new(&client)?;
            let r: RematchView = c.post("/api/v1/findings/rematch", &json!({})).await?;
            match client.format {
                Format::Json => outln!("{}", json(&r)),
                Format::Table if !r.index => outln!(
                    "no vulnerability index on the server yet: import one with `palisade db import` in its data directory"
                ),
                Format::Table => outln!(
                    "{} deployed SBOMs ({} components) matched: {} new findings, {} fixed, {} reopened; {} alerts raised",
                    r.sboms,
                    r.components,
                    r.new,
                    r.fixed,
                    r.reopened,
                    r.alerts
                ),
            }
            return Ok(Outcome::Ok);
        }
        FindingsCmd::Reopen { id, reason, client } => (
            client,
            format!("/api/v1/findings/{}/reopen", seg(&id)),
            json!({"reason": reason}),
        ),
    };
    let c = Client::new(&client)?;
    let v: FindingView = c.post(&path, &body).await?;
    print_finding(&v, client.format);
    Ok(Outcome::Ok)
}

/// A finding from the server as the gate sees it: what it counts as at the gate's time is the
/// server's to say (`at=` on the list), not recomputed here.
fn candidate(v: &FindingView) -> anyhow::Result<Candidate> {
    Ok(Candidate {
        id: Some(v.id.to_string()),
        observed: Observed {
            fingerprint: v.fingerprint.clone(),
            kind: v.kind.parse()?,
            rule: v.rule.clone(),
            title: v.title.clone(),
            severity: v.severity.parse()?,
            location: v.location.clone(),
            package: v.package.clone(),
        },
        status: v.status.parse()?,
        overdue: v.overdue,
        due_at: v.due_at.as_deref().map(Timestamp::parse).transpose()?,
        acceptance_expired: v.acceptance_expired,
    })
}

fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    let default = [
        "palisade-gate.toml",
        "palisade-gate.yaml",
        "palisade-gate.yml",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.exists());
    let path = match (path, default) {
        (Some(p), _) => p,
        (None, Some(d)) => d,
        (None, None) => return Ok(Policy::default()),
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the policy {}", path.display()))?;
    Ok(Policy::parse(&path.display().to_string(), &text)?)
}

pub async fn run_gate(a: GateArgs) -> anyhow::Result<Outcome> {
    let policy = load_policy(a.policy.as_deref())?;
    let at = match &a.at {
        Some(s) => when(s, "--at")?,
        None => palisade_app::now(),
    };
    let (candidates, sbom) = match &a.service {
        None => {
            if a.files.is_empty() {
                return Err(anyhow!(
                    "give reports to decide offline, or --service to decide on the server's findings"
                ));
            }
            let mut candidates = Vec::new();
            let mut sbom = false;
            for f in &a.files {
                let bytes = read_report(f)?;
                let report = palisade_findings::read(&bytes, a.kind)
                    .map_err(|e| anyhow!("{}: {e}", f.display()))?;
                for s in &report.skipped {
                    errln!("warning: {}: skipped {s}", f.display());
                }
                sbom |= report.is_sbom;
                candidates.extend(report.findings.into_iter().map(Candidate::local));
            }
            (candidates, sbom)
        }
        Some(service) => {
            let c = Client::new(&a.client)?;
            let scan = ScanOptions {
                kind: a.kind,
                ..ScanOptions::default()
            };
            let (done, failed) = upload_all(&c, service, a.phase, &scan, &a.files).await;
            if failed > 0 {
                return Err(anyhow!(
                    "{failed} reports were not uploaded; the gate did not decide"
                ));
            }
            let mut views: Vec<FindingView> = Vec::new();
            loop {
                let page: FindingList = c
                    .get(&format!(
                        "/api/v1/findings?service={}&phase={}&at={}&limit=10000&offset={}",
                        seg(service),
                        a.phase,
                        seg(&at.to_string()),
                        views.len()
                    ))
                    .await?;
                let n = page.findings.len();
                views.extend(page.findings);
                if n == 0 || views.len() >= page.total {
                    break;
                }
            }
            let scans: ScanList = c
                .get(&format!("/api/v1/services/{}/scans", seg(service)))
                .await?;
            let sbom = done.iter().any(|(_, v)| v.is_sbom)
                || scans.scans.iter().any(|s| {
                    s.phase == a.phase.as_str() && s.last_format.as_deref() == Some("cyclonedx")
                });
            let candidates = views
                .iter()
                .map(candidate)
                .collect::<anyhow::Result<Vec<_>>>()?;
            (candidates, sbom)
        }
    };
    let verdict = evaluate(&policy, a.phase, candidates, sbom, at);
    print_verdict(&verdict, a.client.format);
    Ok(if verdict.passed {
        Outcome::Ok
    } else {
        Outcome::Refused
    })
}

fn print_verdict(v: &Verdict, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            for f in &v.failures {
                outln!("✗ {}", f.why);
                if let Some(id) = f.finding.as_ref().and_then(|c| c.id.as_ref()) {
                    outln!("    finding {id}");
                }
                outln!("    failed by {}, {}", v.policy_file, f.policy);
            }
            let tail = format!(
                "{} findings considered, {} waived by the policy, {} accepted or false positives",
                v.considered, v.waived, v.accepted
            );
            if v.passed {
                outln!("PASS {}: {tail}", v.phase);
            } else {
                outln!("FAIL {}: {} reasons; {tail}", v.phase, v.failures.len());
            }
        }
    }
}
