//! Findings use cases: an uploaded report compared with what its scan held (new findings
//! opened, missing ones fixed, returning ones reopened, the run recorded), and lists of a
//! service's findings as they stand at a moment.
//!
//! An upload is several appends (one per finding that changes, then the scan's run), not one
//! transaction: each step is idempotent (opening is keyed by scan and fingerprint; fixing a fixed
//! finding or reporting an open one decides nothing), so an upload cut short and sent again
//! converges, and the run is recorded last, after every finding it counts.

use crate::App;
use crate::error::{AppError, Result};
use crate::pipeline::{Options, Outcome};
use futures_util::StreamExt;
use palisade_core::finding::{
    CreateScan, Deployed, FINDING_KEY, FindingCommand, FindingState, FindingStatus, Observed,
    OpenFinding, Presence, RunCounts, SCAN_KEY, ScanCommand, ScanState, scan_key,
};
use palisade_core::service::ServiceState;
use palisade_core::types::{FindingKind, FindingSeverity, Phase};
use palisade_core::{Actor, StreamKind, Timestamp};
use palisade_store::{RecordFilter, StreamKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;

/// Findings changed at once during an upload (appends in flight).
const PARALLEL: usize = 64;
/// Most findings one service's list reads.
const MAX_LISTED: u32 = 200_000;
/// Times an upload is compared again when another upload of the same scan was recorded first
/// (on another instance).
const UPLOAD_ATTEMPTS: u32 = 4;

/// The unique key of a finding: its scan and fingerprint, hashed to a fixed length.
pub fn finding_key(scan: Uuid, fingerprint: &str) -> String {
    let mut h = Sha256::new();
    h.update(scan.as_bytes());
    h.update(fingerprint.as_bytes());
    hex::encode(h.finalize())
}

/// A finding's listing row: its state without the history.
pub(crate) fn row_of(st: &FindingState) -> String {
    let mut row = st.clone();
    row.history = Vec::new();
    serde_json::to_string(&row).unwrap_or_default()
}

/// A scan's listing row.
pub(crate) fn scan_row_of(st: &ScanState) -> String {
    let mut row = st.clone();
    row.history = Vec::new();
    serde_json::to_string(&row).unwrap_or_default()
}

/// A report to compare with its scan.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The service (id or name).
    pub service: String,
    pub phase: Phase,
    /// The tool's name (default: as the report names itself).
    pub tool: Option<String>,
    /// A name for one of several scans of the same tool in a phase (a monorepo's part).
    pub name: Option<String>,
    /// The kind of every finding, for reports that do not say.
    pub kind: Option<FindingKind>,
    /// The environment this SBOM is what runs in (`production`): kept and matched again
    /// whenever the vulnerability data changes.
    pub environment: Option<String>,
    /// The release deployed (a version or tag), with `environment`.
    pub release: Option<String>,
    pub report: Vec<u8>,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uploaded {
    pub service: Uuid,
    pub scan: Uuid,
    pub tool: String,
    pub phase: Phase,
    pub run: u64,
    pub format: String,
    pub sha256: String,
    pub counts: RunCounts,
    /// Results of the report that could not be read, with why (the rest were).
    pub skipped: Vec<String>,
    /// Findings opened by this run.
    pub opened: Vec<Uuid>,
    pub is_sbom: bool,
    /// For an environment's SBOM: what matching it against the vulnerability index found
    /// (none without an index).
    #[serde(default)]
    pub monitored: Option<RunCounts>,
}

/// The answer to an upload: done now, or the first answer to a repeat with the same
/// idempotency key (as JSON of [`Uploaded`]).
#[derive(Debug, Clone)]
pub enum UploadAnswer {
    Done(Uploaded),
    Replayed(String),
}

/// A run recorded, or the first answer to a repeated key.
enum Ran {
    Done {
        run: u64,
        counts: RunCounts,
        opened: Vec<(Uuid, usize)>,
        state: Box<ScanState>,
    },
    Replayed(String),
}

/// Which findings to list.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// One service's (id or name); all services' when `None`.
    pub service: Option<String>,
    pub phase: Option<Phase>,
    pub kind: Option<FindingKind>,
    /// As it stands at the time of the list.
    pub status: Option<FindingStatus>,
    /// At least this severe.
    pub min_severity: Option<FindingSeverity>,
    /// Open and past its due date.
    pub overdue: bool,
    /// As they stand at this time (default: now), e.g. to see what fails once an acceptance
    /// runs out.
    pub at: Option<Timestamp>,
}

/// A finding as a list shows it: the state (without history) and what it counts as now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRow {
    pub finding: FindingState,
    pub status: FindingStatus,
    pub overdue: bool,
    pub acceptance_expired: bool,
    /// When a run of its scan last reported it.
    pub last_seen: Option<Timestamp>,
}

impl FindingRow {
    /// The row of `finding` at `now`, its scan's latest run at `scan_last_run`.
    pub fn of(
        finding: FindingState,
        now: Timestamp,
        scan_last_run: Option<Timestamp>,
    ) -> FindingRow {
        FindingRow {
            status: finding.status_at(now),
            overdue: finding.overdue_at(now),
            acceptance_expired: finding.acceptance_expired_at(now),
            last_seen: finding.last_seen_with(scan_last_run),
            finding,
        }
    }
}

impl App {
    /// Compare an uploaded report with its scan and record what changed.
    pub async fn upload_report(
        &self,
        actor: &Actor,
        up: Upload,
        opts: &Options,
    ) -> Result<UploadAnswer> {
        if let Some(replay) = self.replay(actor, opts).await? {
            return Ok(UploadAnswer::Replayed(replay));
        }
        let report = palisade_findings::read(&up.report, up.kind)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        for f in &report.findings {
            f.check()?;
        }
        if let Some(r) = &up.release
            && (r.is_empty() || r.chars().count() > 100 || r.chars().any(char::is_control))
        {
            return Err(AppError::Invalid(
                "a release is 1–100 printable characters (a version or a tag)".into(),
            ));
        }
        let deployed = match &up.environment {
            None if up.release.is_some() => {
                return Err(AppError::Invalid(
                    "a release is deployed to an environment: give the environment too".into(),
                ));
            }
            None => None,
            Some(_) if !report.is_sbom => {
                return Err(AppError::Invalid(format!(
                    "what an environment runs is an SBOM (CycloneDX or SPDX); this report is {}",
                    report.format.as_str()
                )));
            }
            Some(_) => Some(Deployed {
                release: up.release.clone(),
                components: report.components.clone(),
            }),
        };
        let sha256 = hex::encode(Sha256::digest(&up.report));
        let service = self
            .load_visible::<ServiceState>(actor, &up.service)
            .await?;
        let tool = up.tool.clone().unwrap_or_else(|| report.tool.clone());
        // An environment's SBOM is that environment's scan; a kind given for the whole report
        // makes it its own scan (an SBOM read as an image's packages is not the same scan as
        // one read as dependencies).
        let name = up
            .name
            .clone()
            .or_else(|| up.environment.clone())
            .or_else(|| up.kind.map(|k| k.as_str().to_string()));
        let scan = self
            .scan_for(actor, service.id, up.phase, &tool, name)
            .await?;
        let format = report.format.as_str();
        let make = |run, counts, opened: &[Uuid]| Uploaded {
            service: service.id,
            scan,
            tool: tool.clone(),
            phase: up.phase,
            run,
            format: format.to_string(),
            sha256: sha256.clone(),
            counts,
            skipped: report.skipped.clone(),
            opened: opened.to_vec(),
            is_sbom: report.is_sbom,
            monitored: None,
        };
        let answer = |run, counts, opened: &[Uuid]| {
            serde_json::to_string(&make(run, counts, opened)).unwrap_or_default()
        };
        let ran = self
            .run_scan(
                actor,
                &service,
                scan,
                format,
                &sha256,
                &report.findings,
                deployed.clone(),
                opts,
                &answer,
            )
            .await?;
        let (run, counts, opened, state) = match ran {
            Ran::Done {
                run,
                counts,
                opened,
                state,
            } => (run, counts, opened, state),
            Ran::Replayed(text) => return Ok(UploadAnswer::Replayed(text)),
        };
        let ids: Vec<Uuid> = opened.iter().map(|(id, _)| *id).collect();
        let mut uploaded = make(run, counts, &ids);
        // A newly deployed release is matched at once, not at the next index update.
        if deployed.is_some() {
            let r = self.monitor(vec![*state]).await?;
            uploaded.monitored = r.index.then_some(RunCounts {
                results: 0,
                new: r.new,
                fixed: r.fixed,
                reopened: r.reopened,
                unchanged: 0,
            });
        }
        Ok(UploadAnswer::Done(uploaded))
    }

    /// Record findings as a run of the scan of this service, phase, tool and name (started if
    /// new), without an idempotency key: the monitor's runs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_findings(
        &self,
        actor: &Actor,
        service: &ServiceState,
        phase: Phase,
        tool: &str,
        name: Option<String>,
        format: &str,
        findings: &[Observed],
        deployed: Option<Deployed>,
    ) -> Result<(RunCounts, Vec<(Uuid, usize)>)> {
        let scan = self.scan_for(actor, service.id, phase, tool, name).await?;
        let sha256 = hex::encode(Sha256::digest(
            findings
                .iter()
                .map(|f| f.fingerprint.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ));
        let none = |_, _, _: &[Uuid]| String::new();
        match self
            .run_scan(
                actor,
                service,
                scan,
                format,
                &sha256,
                findings,
                deployed,
                &Options::default(),
                &none,
            )
            .await?
        {
            Ran::Done { counts, opened, .. } => Ok((counts, opened)),
            Ran::Replayed(_) => Err(AppError::internal(
                "a run without an idempotency key was replayed",
                "replay without key",
            )),
        }
    }

    /// Compare `findings` with the scan and record the run: uploads of one scan at a time on
    /// this instance; a run number another instance took first is compared again.
    #[allow(clippy::too_many_arguments)]
    async fn run_scan(
        &self,
        actor: &Actor,
        service: &ServiceState,
        scan: Uuid,
        format: &str,
        sha256: &str,
        findings: &[Observed],
        deployed: Option<Deployed>,
        opts: &Options,
        answer: &(dyn Fn(u64, RunCounts, &[Uuid]) -> String + Send + Sync),
    ) -> Result<Ran> {
        let _serial = self.inner.locks.lock(upload_lock(scan)).await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let st = self
                .load::<ScanState>(scan)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("scan {scan}")))?;
            let run = st.runs + 1;
            let (counts, opened) = self.compare(actor, service, &st, run, findings).await?;
            let cmd = ScanCommand::Ran {
                run,
                format: format.to_string(),
                sha256: sha256.to_string(),
                counts,
                deployed: deployed.clone(),
            };
            let ids: Vec<Uuid> = opened.iter().map(|(id, _)| *id).collect();
            let text = answer(run, counts, &ids);
            let render = |_: &crate::Executed<ScanState>| text.clone();
            match self
                .execute::<ScanState>(actor, &scan.to_string(), cmd, opts, Some(&render))
                .await
            {
                Ok(Outcome::Done(e)) => {
                    return Ok(Ran::Done {
                        run,
                        counts,
                        opened,
                        state: Box::new(e.state),
                    });
                }
                Ok(Outcome::Replayed(text)) => return Ok(Ran::Replayed(text)),
                Err(AppError::Refused(r))
                    if r.rule == palisade_core::finding::rules::FINDING_UNCHANGED
                        && attempt < UPLOAD_ATTEMPTS => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The scan of this service, phase, tool and name, started at its first upload.
    async fn scan_for(
        &self,
        actor: &Actor,
        service: Uuid,
        phase: Phase,
        tool: &str,
        name: Option<String>,
    ) -> Result<Uuid> {
        let key = StreamKey::new(
            SCAN_KEY,
            scan_key(service, phase, tool, name.as_deref().unwrap_or("")),
        );
        if let Some(id) = self.inner.store.stream_by_key(key.clone()).await? {
            return Ok(id);
        }
        let create = CreateScan {
            service,
            phase,
            tool: tool.to_string(),
            name,
        };
        match self
            .create::<ScanState>(actor, |_| Ok(create.clone()), &Options::default(), None)
            .await
        {
            Ok(o) => Ok(o.done()?.state.id),
            // Another upload started it at the same moment.
            Err(AppError::Taken(_)) => {
                self.inner.store.stream_by_key(key).await?.ok_or_else(|| {
                    AppError::Conflict("the scan was being started; try again".into())
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Open, fix and reopen the scan's findings after `reported`; the run's counts and the
    /// findings it opened (with the index of the result that opened each).
    async fn compare(
        &self,
        actor: &Actor,
        service: &ServiceState,
        scan: &ScanState,
        run: u64,
        reported: &[Observed],
    ) -> Result<(RunCounts, Vec<(Uuid, usize)>)> {
        let held: HashMap<String, (Uuid, Presence)> = self
            .scan_findings(Some(scan.id))
            .await?
            .into_iter()
            .map(|f| (f.observed.fingerprint.clone(), (f.id, f.presence)))
            .collect();
        let mut counts = RunCounts {
            results: u32::try_from(reported.len()).unwrap_or(u32::MAX),
            ..RunCounts::default()
        };
        enum Step {
            /// A result of the report (by its index) seen for the first time.
            Open(usize),
            Tell(Uuid, FindingCommand),
        }
        let mut steps = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, o) in reported.iter().enumerate() {
            seen.insert(o.fingerprint.as_str());
            match held.get(&o.fingerprint) {
                None => steps.push(Step::Open(i)),
                Some((id, Presence::Fixed)) => {
                    counts.reopened += 1;
                    steps.push(Step::Tell(*id, FindingCommand::Reported { run }));
                }
                Some((_, Presence::Open)) => counts.unchanged += 1,
            }
        }
        for (fp, (id, presence)) in &held {
            if *presence == Presence::Open && !seen.contains(fp.as_str()) {
                counts.fixed += 1;
                steps.push(Step::Tell(
                    *id,
                    FindingCommand::Missing {
                        run,
                        last_seen: scan.last_run_at,
                    },
                ));
            }
        }
        // The service's own days to fix, else the deployment's.
        let sla = service.finding_sla.unwrap_or(self.inner.finding_sla);
        let results: Vec<Result<Option<(Uuid, usize)>>> = futures_util::stream::iter(steps)
            .map(|step| async move {
                match step {
                    Step::Open(i) => {
                        let o = &reported[i];
                        let open = OpenFinding {
                            service: service.id,
                            scan: scan.id,
                            phase: scan.phase,
                            run,
                            observed: o.clone(),
                            sla,
                        };
                        match self
                            .create::<FindingState>(
                                actor,
                                |_| Ok(open.clone()),
                                &Options::default(),
                                None,
                            )
                            .await
                        {
                            Ok(done) => Ok(Some((done.done()?.state.id, i))),
                            // Opened by an earlier attempt of this upload that was cut short:
                            // it is reported now.
                            Err(AppError::Taken(_)) => {
                                let key = StreamKey::new(
                                    FINDING_KEY,
                                    finding_key(scan.id, &o.fingerprint),
                                );
                                if let Some(id) = self.inner.store.stream_by_key(key).await? {
                                    self.execute::<FindingState>(
                                        actor,
                                        &id.to_string(),
                                        FindingCommand::Reported { run },
                                        &Options::default(),
                                        None,
                                    )
                                    .await?;
                                }
                                Ok(None)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Step::Tell(id, cmd) => {
                        self.execute::<FindingState>(
                            actor,
                            &id.to_string(),
                            cmd,
                            &Options::default(),
                            None,
                        )
                        .await?;
                        Ok(None)
                    }
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let mut opened = Vec::new();
        for r in results {
            if let Some(o) = r? {
                opened.push(o);
            }
        }
        counts.new = u32::try_from(opened.len()).unwrap_or(u32::MAX);
        // Findings an earlier cut-short attempt opened count as unchanged.
        counts.unchanged = counts
            .results
            .saturating_sub(counts.new)
            .saturating_sub(counts.reopened);
        Ok((counts, opened))
    }

    /// Every finding of a scan (or of all scans), as stored: findings are listed under their
    /// scan, so comparing a run reads only its own scan's.
    async fn scan_findings(&self, scan: Option<Uuid>) -> Result<Vec<FindingState>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Finding,
                parent: scan,
                status: None,
                before_us: None,
                limit: MAX_LISTED,
            })
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str::<FindingState>(&r.summary)
                    .map_err(|e| AppError::internal("a finding's listing row does not parse", e))
            })
            .collect()
    }

    /// Findings as they stand now, most severe first, then oldest first.
    pub async fn list_findings(&self, actor: &Actor, f: &FindingFilter) -> Result<Vec<FindingRow>> {
        let service = match &f.service {
            Some(s) => Some(self.load_visible::<ServiceState>(actor, s).await?.id),
            None => None,
        };
        let now = f.at.unwrap_or_else(crate::now);
        // The scans once: their findings (a service's are its scans'), and each one's latest run
        // for "last seen".
        let scans = self.scans(service, None).await?;
        let states = match service {
            None => self.scan_findings(None).await?,
            Some(_) => {
                let mut all = Vec::new();
                for scan in &scans {
                    all.extend(self.scan_findings(Some(scan.id)).await?);
                }
                all
            }
        };
        let last_runs: HashMap<Uuid, Option<Timestamp>> =
            scans.iter().map(|s| (s.id, s.last_run_at)).collect();
        let mut rows: Vec<FindingRow> = states
            .into_iter()
            .filter(|s| f.phase.is_none_or(|p| s.phase == p))
            .filter(|s| f.kind.is_none_or(|k| s.observed.kind == k))
            .filter(|s| f.min_severity.is_none_or(|m| s.observed.severity >= m))
            .map(|s| {
                let last = last_runs.get(&s.scan).copied().flatten();
                FindingRow::of(s, now, last)
            })
            .filter(|r| f.status.is_none_or(|st| r.status == st))
            .filter(|r| !f.overdue || r.overdue)
            .collect();
        rows.sort_by(|a, b| {
            b.finding
                .observed
                .severity
                .cmp(&a.finding.observed.severity)
                .then(a.finding.first_seen.cmp(&b.finding.first_seen))
                .then(a.finding.id.cmp(&b.finding.id))
        });
        Ok(rows)
    }

    /// A finding as it stands now, with when its scan last reported it (as the API shows it).
    pub async fn finding_row(&self, st: FindingState) -> Result<FindingRow> {
        let last = self
            .load::<ScanState>(st.scan)
            .await?
            .and_then(|s| s.last_run_at);
        Ok(FindingRow::of(st, crate::now(), last))
    }

    /// A service's scans, most recently run first.
    pub async fn list_scans(&self, actor: &Actor, service: &str) -> Result<Vec<ScanState>> {
        let service = self.load_visible::<ServiceState>(actor, service).await?;
        self.scans(Some(service.id), None).await
    }

    /// Scans of one service (or all), of one phase (or all), as listed.
    pub(crate) async fn scans(
        &self,
        service: Option<Uuid>,
        phase: Option<Phase>,
    ) -> Result<Vec<ScanState>> {
        let rows = self
            .inner
            .store
            .list_records(RecordFilter {
                kind: StreamKind::Scan,
                parent: service,
                status: phase.map(|p| p.as_str().to_string()),
                before_us: None,
                limit: MAX_LISTED,
            })
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str::<ScanState>(&r.summary)
                    .map_err(|e| AppError::internal("a scan's listing row does not parse", e))
            })
            .collect()
    }
}

/// The lock serialising uploads of one scan on this instance: not the scan stream's own lock,
/// which recording the run takes.
fn upload_lock(scan: Uuid) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"upload\0");
    h.update(scan.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    Uuid::from_bytes(b)
}
