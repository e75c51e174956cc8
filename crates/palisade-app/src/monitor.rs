//! Continuous vulnerability monitoring of what is deployed: every SBOM uploaded for an
//! environment (a scan's `deployed` components) is matched against the offline vulnerability
//! index again whenever the index changes (`palisade db import|update`), and when it is
//! uploaded. What a match finds is a run of the environment's **monitor scan** (tool
//! `palisade/monitor`, phase deploy, named by the environment): new findings opened, gone ones
//! fixed, as any upload. A new critical or high finding raises an alert on the owning service,
//! once (its deduplication key is the finding's id), which pages the service's on-call through
//! its escalation policy.

use crate::App;
use crate::error::{AppError, Result};
use futures_util::StreamExt;
use palisade_core::alert::{AlertDetails, AlertSeverity, AlertState, RaiseAlert};
use palisade_core::finding::{Observed, RunCounts, ScanState};
use palisade_core::service::ServiceState;
use palisade_core::types::{AccountRole, FindingKind, FindingSeverity, Phase};
use palisade_core::{Actor, UserName};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// SBOMs recorded at once.
const PARALLEL_SBOMS: usize = 16;

/// The monitor scans' tool.
pub const MONITOR_TOOL: &str = "palisade/monitor";

/// Who records what monitoring finds.
pub fn monitor_actor() -> Actor {
    Actor {
        user: UserName::parse("monitor").expect("a valid user name"),
        account_role: AccountRole::Responder,
    }
}

/// What a re-match did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rematched {
    /// Deployed SBOMs matched.
    pub sboms: usize,
    /// Components matched in all.
    pub components: usize,
    /// Findings opened, fixed and reopened across them.
    pub new: u32,
    pub fixed: u32,
    pub reopened: u32,
    /// Alerts raised for new critical and high findings.
    pub alerts: usize,
    /// Whether there was an index to match against.
    pub index: bool,
}

/// One deployed SBOM's matches: the deploy scan and what the index says of its components.
struct Matched {
    deploy: ScanState,
    findings: Vec<Observed>,
}

/// Match deployed SBOMs against the index at `path` (blocking: the index is SQLite). Each
/// distinct package is matched once, however many SBOMs list it: one index query per ecosystem
/// for all of them.
fn match_all(path: &Path, deployed: Vec<ScanState>) -> Result<Option<Vec<Matched>>> {
    use palisade_deps::lockfile::{Package, package_of_purl};
    if !path.exists() {
        return Ok(None);
    }
    let index = palisade_deps::index::Index::open_read(path)
        .map_err(|e| AppError::Unavailable(format!("the vulnerability index: {e}")))?;
    // The distinct packages across all SBOMs (by their purl as the scanner writes it, which is
    // what its findings carry). An SBOM's own packages are read again from its purls when its
    // findings are built, one SBOM at a time: holding every SBOM's packages at once made the
    // re-match of 1,000 SBOMs of 500 components grow the process by about 190 MiB, against
    // about 50 MiB now (BENCHMARKS).
    let label = PathBuf::from("sbom");
    let packages_of = |deploy: &ScanState| -> Vec<Package> {
        deploy
            .deployed
            .iter()
            .flat_map(|d| d.components.iter())
            .filter_map(|p| package_of_purl(p, &label))
            .collect()
    };
    let mut distinct: HashMap<String, Package> = HashMap::new();
    for deploy in &deployed {
        for p in packages_of(deploy) {
            distinct.entry(p.purl()).or_insert(p);
        }
    }
    let packages: Vec<Package> = distinct.into_values().collect();
    let result = palisade_deps::scan::scan_packages(&index, &packages)
        .map_err(|e| AppError::Unavailable(format!("the vulnerability index: {e}")))?;
    let mut by_purl: HashMap<&str, Vec<&palisade_deps::scan::Finding>> = HashMap::new();
    for f in &result.findings {
        by_purl.entry(f.purl.as_str()).or_default().push(f);
    }
    let mut out = Vec::with_capacity(deployed.len());
    for deploy in deployed {
        let packages = packages_of(&deploy);
        let label = format!("sbom:{}", deploy.name.as_deref().unwrap_or("default"));
        let mut seen = std::collections::HashSet::new();
        let findings = packages
            .iter()
            .filter(|p| seen.insert(p.purl()))
            .flat_map(|p| by_purl.get(p.purl().as_str()).into_iter().flatten())
            .map(|f| Observed {
                fingerprint: palisade_findings::dependency_fingerprint(&f.id, &f.purl, &label),
                kind: if f.purl.starts_with("pkg:deb/") || f.purl.starts_with("pkg:apk/") {
                    FindingKind::Image
                } else {
                    FindingKind::Dependency
                },
                rule: f.id.clone(),
                title: if f.summary.is_empty() {
                    f.id.clone()
                } else {
                    f.summary.chars().take(1000).collect()
                },
                severity: f.severity.as_str().parse().unwrap_or(FindingSeverity::High),
                location: Some(label.clone()),
                package: Some(f.purl.chars().take(1000).collect()),
            })
            .collect();
        out.push(Matched { deploy, findings });
    }
    Ok(Some(out))
}

impl App {
    /// The deployed SBOMs (scans that hold one).
    async fn deployed(&self) -> Result<Vec<ScanState>> {
        let mut scans = self.scans(None, Some(Phase::Deploy)).await?;
        scans.retain(|s| s.deployed.is_some());
        Ok(scans)
    }

    /// Match every deployed SBOM now, as an admin asked (after importing advisories).
    pub async fn rematch_as(&self, actor: &Actor) -> Result<Rematched> {
        if actor.account_role != AccountRole::Admin {
            return Err(AppError::Forbidden(format!(
                "matching every deployed SBOM again needs an admin account; {} is a {}",
                actor.user, actor.account_role
            )));
        }
        self.rematch_deployed().await
    }

    /// Match every deployed SBOM against the vulnerability index now.
    pub async fn rematch_deployed(&self) -> Result<Rematched> {
        let deployed = self.deployed().await?;
        self.monitor(deployed).await
    }

    /// Match these deploy scans' SBOMs and record what changed.
    pub(crate) async fn monitor(&self, deployed: Vec<ScanState>) -> Result<Rematched> {
        let mut report = Rematched {
            sboms: deployed.len(),
            components: deployed
                .iter()
                .filter_map(|d| d.deployed.as_ref())
                .map(|d| d.components.len())
                .sum(),
            ..Rematched::default()
        };
        let path = self.inner.vulns_index.clone();
        let matched = tokio::task::spawn_blocking(move || match_all(&path, deployed))
            .await
            .map_err(|e| AppError::internal("the match task", e))??;
        let Some(matched) = matched else {
            return Ok(report);
        };
        report.index = true;
        // SBOMs are independent (a scan each): recorded together, so their appends share the
        // store's group commits.
        let results: Vec<Result<(RunCounts, usize)>> = futures_util::stream::iter(matched)
            .map(|m| async move { self.monitor_one(m).await })
            .buffer_unordered(PARALLEL_SBOMS)
            .collect()
            .await;
        for r in results {
            let (counts, alerts) = r?;
            report.new += counts.new;
            report.fixed += counts.fixed;
            report.reopened += counts.reopened;
            report.alerts += alerts;
        }
        Ok(report)
    }

    /// Record one SBOM's matches as a run of its environment's monitor scan, and alert on what
    /// is new and severe.
    async fn monitor_one(&self, m: Matched) -> Result<(RunCounts, usize)> {
        let Some(service) = self.load::<ServiceState>(m.deploy.service).await? else {
            return Ok((RunCounts::default(), 0));
        };
        let env = m.deploy.name.clone().unwrap_or_else(|| "default".into());
        let release = m.deploy.deployed.as_ref().and_then(|d| d.release.clone());
        let (counts, opened) = self
            .record_findings(
                &monitor_actor(),
                &service,
                Phase::Deploy,
                MONITOR_TOOL,
                Some(env.clone()),
                "rematch",
                &m.findings,
                None,
            )
            .await?;
        let alerts = self
            .alert_new(&service, &env, release.as_deref(), &m.findings, &opened)
            .await?;
        Ok((counts, alerts))
    }

    /// Raise an alert on the service for each new critical or high finding; how many.
    async fn alert_new(
        &self,
        service: &ServiceState,
        env: &str,
        release: Option<&str>,
        findings: &[Observed],
        opened: &[(Uuid, usize)],
    ) -> Result<usize> {
        let mut raised = 0;
        for (id, i) in opened {
            let o = &findings[*i];
            if o.severity < FindingSeverity::High {
                continue;
            }
            let package = o.package.clone().unwrap_or_default();
            let details = AlertDetails {
                summary: format!(
                    "{} {} in {package}, deployed in {env}{}",
                    o.severity,
                    o.rule,
                    release
                        .map(|r| format!(" (release {r})"))
                        .unwrap_or_default()
                )
                .chars()
                .take(1024)
                .collect(),
                source: "palisade monitor".into(),
                severity: if o.severity == FindingSeverity::Critical {
                    AlertSeverity::Critical
                } else {
                    AlertSeverity::Error
                },
                timestamp: None,
                component: Some(package.chars().take(255).collect()),
                group: Some(env.chars().take(255).collect()),
                class: Some("vulnerability".into()),
                custom_details: None,
                links: Vec::new(),
                images: Vec::new(),
                client: Some("Palisade".into()),
                client_url: None,
            };
            let raise = RaiseAlert {
                service: service.id,
                service_name: service.name.to_string(),
                // One alert per finding, ever: the key is the finding's id.
                dedup_key: format!("finding/{id}"),
                dedup_key_generated: false,
                origin: None,
                details,
                first_step: self.first_step(service.id).await,
            };
            match self
                .create::<AlertState>(
                    &monitor_actor(),
                    |_| Ok(raise.clone()),
                    &crate::Options::default(),
                    None,
                )
                .await
            {
                Ok(o) => {
                    if let Ok(done) = o.done() {
                        self.paged_with_trigger(&done.state);
                    }
                    raised += 1
                }
                Err(AppError::Taken(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(raised)
    }
}

/// The monitoring worker: when the index file changes (an import or update), match every
/// deployed SBOM again; also once at start, for changes made while no server ran.
pub(crate) async fn run(app: Weak<crate::Inner>, every: Duration) {
    let mut seen: Option<SystemTime> = None;
    let mut first = true;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(inner) = app.upgrade() else { return };
        let app = App { inner };
        let stamp = std::fs::metadata(&app.inner.vulns_index)
            .and_then(|m| m.modified())
            .ok();
        if stamp.is_none() || (!first && stamp == seen) {
            continue;
        }
        match app.rematch_deployed().await {
            Ok(r) => {
                first = false;
                seen = stamp;
                tracing::info!(
                    sboms = r.sboms,
                    new = r.new,
                    fixed = r.fixed,
                    alerts = r.alerts,
                    "deployed SBOMs matched against the vulnerability index"
                )
            }
            Err(e) => tracing::warn!(error = %e, "matching deployed SBOMs failed; trying again"),
        }
    }
}
