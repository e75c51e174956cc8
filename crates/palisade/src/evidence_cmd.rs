//! `palisade evidence …`, `palisade incident export` and `palisade incident break-glass`.
//! Content streams in both directions (never read whole into memory), with a progress bar on a
//! terminal, and is hashed on this side too.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use palisade_core::custody::EvidenceName;
use palisade_server::routes::evidence::{EvidenceList, EvidenceView};
use palisade_server::routes::incidents::BreakGlassView;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum EvidenceCmd {
    /// Add a file as evidence. It is streamed to the server (any size), stored encrypted and
    /// addressed by its SHA-256, and the acquisition is recorded in the ledger with you as its
    /// first custodian. Give the hash taken at acquisition with --sha256: a file that changed
    /// since is refused.
    ///
    /// Example: palisade evidence add crimson-otter web-01.img --source web-01 --tool "dd 9.4" --sha256 5f3a…
    Add {
        /// Incident codename or id.
        incident: String,
        /// The file to add (streamed; any size).
        file: PathBuf,
        /// Where it was acquired from (host, account, device).
        #[arg(long)]
        source: String,
        /// The tool that acquired it (name and version).
        #[arg(long)]
        tool: String,
        /// SHA-256 recorded at acquisition.
        #[arg(long)]
        sha256: Option<String>,
        /// A note recorded with it.
        #[arg(long)]
        note: Option<String>,
        /// Name to record (default: the file's name). It must be a portable file name: 1–255
        /// bytes, not `.` or `..`, without `/`, `\`, control characters or `< > : " | ? *`,
        /// not ending in a dot or a space, and not a Windows device name (CON, NUL, COM1, …).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List an incident's evidence with hashes and custodians.
    List {
        /// Incident codename or id.
        incident: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print the chain of custody of one piece of evidence (Markdown; JSON with --format json).
    Custody {
        /// INCIDENT/E<n>, e.g. crimson-otter/E1.
        evidence: String,
        /// Write the report to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Download evidence. The download and its purpose are recorded; the content is hashed as it
    /// arrives and kept only if it matches the recorded SHA-256.
    Get {
        /// INCIDENT/E<n>, e.g. crimson-otter/E1.
        evidence: String,
        /// Where to write it (must not exist).
        #[arg(short, long)]
        output: PathBuf,
        /// Why you need it (recorded in the ledger).
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Hand evidence to someone else (its custodian or the IC may). The stored content is
    /// re-hashed first.
    Transfer {
        /// INCIDENT/E<n>, e.g. crimson-otter/E1.
        evidence: String,
        /// Who takes custody.
        #[arg(long)]
        to: String,
        /// Why (e.g. "forensic imaging").
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `palisade incident export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Incident codename or id.
    pub incident: String,
    /// The bundle to write (a tar archive).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Why it is exported and to whom (recorded in the ledger).
    #[arg(long)]
    pub purpose: String,
    /// Include the evidence content (decrypted, each file re-checked against its hash). The bundle
    /// then holds the evidence in the clear: protect it (e.g. `age -r RECIPIENT`).
    #[arg(long)]
    pub with_evidence: bool,
    /// Do not verify the bundle after writing it.
    #[arg(long)]
    pub no_verify: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `palisade incident break-glass`.
#[derive(clap::Args, Debug)]
pub struct BreakGlassArgs {
    /// Incident codename or id.
    pub incident: String,
    /// Why you must see it. Recorded in the ledger and sent to the Incident Commander.
    #[arg(long)]
    pub reason: String,
    /// How long access lasts (default 60, at most 480).
    #[arg(long)]
    pub minutes: Option<u32>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Split `INCIDENT/E<n>`.
fn split_ref(r: &str) -> anyhow::Result<(String, String)> {
    let (inc, ev) = r.rsplit_once('/').ok_or_else(|| {
        anyhow!("evidence is named INCIDENT/E<n>, e.g. crimson-otter/E1 (got {r:?})")
    })?;
    if inc.is_empty() || ev.is_empty() {
        bail!("evidence is named INCIDENT/E<n>, e.g. crimson-otter/E1 (got {r:?})");
    }
    Ok((inc.to_string(), ev.to_string()))
}

fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || std::env::var_os("PALISADE_NO_PROGRESS").is_some() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(if std::env::var_os("NO_COLOR").is_some() {
        style
    } else {
        style.progress_chars("█▉ ")
    });
    pb.set_message(what.to_string());
    pb
}

fn print_evidence(v: &EvidenceView) {
    let i = &v.item;
    outln!("{}  {}", v.reference, i.name);
    outln!("  SHA-256    {}", i.sha256);
    outln!("  size       {} bytes", i.size);
    outln!("  from       {} (tool: {})", i.source, i.tool);
    outln!("  acquired   by {} at {}", i.acquired_by, i.acquired_at);
    outln!("  custodian  {}", i.custodian);
    if i.integrity_failed {
        outln!(
            "  INTEGRITY  FAILED at least once; see `palisade evidence custody {}`",
            v.reference
        );
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// Stream a response body into `out` (via a `.partial` file renamed at the end), hashing it;
/// `broke_off` says what it means when the body ends early.
async fn save_stream(
    resp: reqwest::Response,
    out: &Path,
    what: &str,
) -> anyhow::Result<(String, u64)> {
    use tokio::io::AsyncWriteExt;
    let total = resp.content_length().unwrap_or(0);
    let partial = partial_path(out);
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .await
        .with_context(|| format!("creating {}", partial.display()))?;
    let pb = progress(total, what);
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    let mut resp = resp;
    let result: anyhow::Result<()> = async {
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            // The library's words are for the log; the user hears what it means.
            tracing::debug!(error = %e, "download stream");
            anyhow::Error::new(BrokeOff {
                received: n,
                expected: total,
            })
        })? {
            hasher.update(&chunk);
            n += chunk.len() as u64;
            pb.inc(chunk.len() as u64);
            file.write_all(&chunk)
                .await
                .context("writing the download")?;
        }
        file.sync_all().await.context("syncing the download")?;
        Ok(())
    }
    .await;
    pb.finish_and_clear();
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    Ok((hex::encode(hasher.finalize()), n))
}

/// A download that stopped before its end: the server aborted it (the content failed its
/// integrity check on the way out) or the connection broke.
#[derive(Debug)]
pub struct BrokeOff {
    pub received: u64,
    pub expected: u64,
}

impl std::fmt::Display for BrokeOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the transfer stopped after {} of {} bytes; nothing was kept",
            self.received, self.expected
        )
    }
}

impl std::error::Error for BrokeOff {}

/// Why a download of `inc/ev` broke off, as the incident's record tells it.
async fn why_broke_off(c: &Client, inc: &str, ev: &str, e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<BrokeOff>().is_none() {
        return e;
    }
    let view: anyhow::Result<serde_json::Value> = c
        .get(&format!(
            "/api/v1/incidents/{}/evidence/{}",
            seg(inc),
            seg(ev)
        ))
        .await;
    match view {
        Ok(v) if v["integrity_failed"] == true => e.context(format!(
            "the stored content of {inc}/{ev} does not match its recorded hash: the server stopped the download and recorded the failure (see: palisade evidence custody {inc}/{ev})"
        )),
        _ => e.context(
            "the connection to the server broke during the download; try again (the server log says more if it stopped it)",
        ),
    }
}

/// `resp` if it succeeded; else its problem, classified as every other request's (a
/// concurrent change is "try again", exit code 2; a rule's refusal exit code 1).
async fn check_response(resp: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(crate::client::problem_error(resp, what).await)
}

/// One attempt at an evidence upload: `Ok(Ok((answer, hash of what was sent)))`, `Ok(Err(e))`
/// when asking again is safe and worth it (no answer, a concurrent change, an unavailable
/// store), `Err` when not.
async fn upload_once(
    c: &Client,
    incident: &str,
    file: &std::path::Path,
    query: &[(&str, String)],
    key: &str,
) -> anyhow::Result<anyhow::Result<(EvidenceView, String)>> {
    let f = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let len = f.metadata().await?.len();
    let pb = progress(len, "uploading");
    let hasher = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
    let h = hasher.clone();
    let pbc = pb.clone();
    let stream = futures_util::StreamExt::map(
        tokio_util::io::ReaderStream::with_capacity(f, 1 << 20),
        move |chunk| {
            if let Ok(b) = &chunk {
                if let Ok(mut h) = h.lock() {
                    h.update(b);
                }
                pbc.inc(b.len() as u64);
            }
            chunk
        },
    );
    let resp = c
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/incidents/{}/evidence", seg(incident)),
        )
        .query(query)
        .header("content-type", "application/octet-stream")
        .header("content-length", len)
        .header("idempotency-key", key)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    pb.finish_and_clear();
    let resp = match resp {
        Ok(r) => r,
        // Not even connected: nothing was sent.
        Err(e) if e.is_connect() => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot reach the Palisade server at {} (adding evidence); is `palisade serve` running and PALISADE_URL right?",
                c.base()
            )));
        }
        Err(e) => {
            return Ok(Err(
                anyhow::Error::new(e).context("uploading evidence: no answer from the server")
            ));
        }
    };
    if !resp.status().is_success() {
        let (retry, e) = crate::client::problem_retryable(resp, "adding evidence").await;
        return if retry { Ok(Err(e)) } else { Err(e) };
    }
    let v: EvidenceView = resp.json().await.context("reading the server's answer")?;
    let sent = hex::encode(
        hasher
            .lock()
            .map_err(|_| anyhow!("hasher poisoned"))?
            .clone()
            .finalize(),
    );
    Ok(Ok((v, sent)))
}

pub async fn run(cmd: EvidenceCmd) -> anyhow::Result<Outcome> {
    match cmd {
        EvidenceCmd::Add {
            incident,
            file,
            source,
            tool,
            sha256,
            note,
            name,
            client,
        } => {
            let c = Client::new(&client)?;
            let given = name.is_some();
            let name = match name {
                Some(n) => n,
                None => file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| anyhow!("{} has no file name; give --name", file.display()))?,
            };
            // The server checks the same rule; checking it here refuses before a byte is sent.
            let name = EvidenceName::parse(&name).map_err(|e| {
                crate::client::Refused(if given {
                    e.to_string()
                } else {
                    format!("{e} The name comes from the file's name; give another with --name.")
                })
            })?;
            let mut query = vec![
                ("name", name.to_string()),
                ("source", source),
                ("tool", tool),
            ];
            if let Some(s) = sha256 {
                query.push(("sha256", s));
            }
            if let Some(n) = note {
                query.push(("note", n));
            }
            // One idempotency key for every attempt: an upload whose answer was lost, or that
            // met a concurrent change or an unavailable store, is sent again and recorded once.
            let key = uuid::Uuid::new_v4().to_string();
            let mut pauses = crate::client::retry_pauses();
            let (v, sent) = loop {
                let error = match upload_once(&c, &incident, &file, &query, &key).await? {
                    Ok(done) => break done,
                    Err(e) => e,
                };
                match pauses.next() {
                    Some(p) => {
                        eprintln!("{error:#}; sending it again");
                        tokio::time::sleep(p).await;
                    }
                    None => return Err(error),
                }
            };
            if sent != v.item.sha256 {
                bail!(
                    "the server recorded SHA-256 {} but this file hashed to {sent} while it was sent: it changed during the upload, or the transfer was corrupted. {} is recorded as received; add the file again once it is stable",
                    v.item.sha256,
                    v.reference
                );
            }
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => {
                    outln!("Recorded {} (hash checked on both sides).", v.reference);
                    print_evidence(&v);
                }
            }
            Ok(Outcome::Ok)
        }
        EvidenceCmd::List { incident, client } => {
            let c = Client::new(&client)?;
            let l: EvidenceList = c
                .get(&format!("/api/v1/incidents/{}/evidence", seg(&incident)))
                .await?;
            match client.format {
                Format::Json => outln!("{}", json(&l)),
                Format::Table => {
                    if l.evidence.is_empty() {
                        outln!(
                            "No evidence yet. Add some with `palisade evidence add {incident} FILE --source HOST --tool TOOL`."
                        );
                    } else {
                        let rows: Vec<Vec<String>> = l
                            .evidence
                            .iter()
                            .map(|v| {
                                vec![
                                    v.reference.clone(),
                                    v.item.name.clone(),
                                    v.item.size.to_string(),
                                    v.item.sha256[..16].to_string() + "…",
                                    v.item.custodian.to_string(),
                                    if v.item.integrity_failed {
                                        "FAILED".into()
                                    } else {
                                        "ok".into()
                                    },
                                ]
                            })
                            .collect();
                        out!(
                            "{}",
                            table(
                                &[
                                    "EVIDENCE",
                                    "NAME",
                                    "BYTES",
                                    "SHA-256",
                                    "CUSTODIAN",
                                    "INTEGRITY"
                                ],
                                &rows
                            )
                        );
                    }
                }
            }
            Ok(Outcome::Ok)
        }
        EvidenceCmd::Custody {
            evidence,
            output,
            client,
        } => {
            let (inc, ev) = split_ref(&evidence)?;
            let c = Client::new(&client)?;
            let v: EvidenceView = c
                .get(&format!(
                    "/api/v1/incidents/{}/evidence/{}",
                    seg(&inc),
                    seg(&ev)
                ))
                .await?;
            let text = match client.format {
                Format::Json => json(&v),
                Format::Table => palisade_core::custody::custody_report_markdown(
                    &v.codename,
                    &v.incident,
                    &v.item,
                ),
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    errln!(
                        "Wrote the custody report of {} to {}",
                        v.reference,
                        path.display()
                    );
                }
                None => out!("{text}"),
            }
            Ok(Outcome::Ok)
        }
        EvidenceCmd::Get {
            evidence,
            output,
            purpose,
            client,
        } => {
            let (inc, ev) = split_ref(&evidence)?;
            if output.exists() {
                bail!("{} exists; choose another --output", output.display());
            }
            let c = Client::new(&client)?;
            let resp = c
                .request(
                    reqwest::Method::GET,
                    &format!(
                        "/api/v1/incidents/{}/evidence/{}/content",
                        seg(&inc),
                        seg(&ev)
                    ),
                )
                .query(&[("purpose", &purpose)])
                .send()
                .await
                .context("downloading evidence")?;
            let resp = check_response(resp, "downloading evidence").await?;
            let expected = resp
                .headers()
                .get("x-palisade-sha256")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| {
                    anyhow!(
                        "the server did not say which hash to expect; refusing to keep the content"
                    )
                })?;
            let (sha, n) = match save_stream(resp, &output, "downloading").await {
                Ok(done) => done,
                Err(e) => return Err(why_broke_off(&c, &inc, &ev, e).await),
            };
            let partial = partial_path(&output);
            if sha != expected {
                let _ = std::fs::remove_file(&partial);
                bail!(
                    "the content received hashes to {sha}, not the recorded {expected}; it was discarded"
                );
            }
            std::fs::rename(&partial, &output)
                .with_context(|| format!("moving the download to {}", output.display()))?;
            match client.format {
                Format::Json => outln!(
                    "{}",
                    json(
                        &json!({"evidence": evidence, "output": output, "sha256": sha, "size": n})
                    )
                ),
                Format::Table => outln!(
                    "Saved {evidence} to {} ({n} bytes, SHA-256 {sha} verified). The download is recorded in the ledger.",
                    output.display()
                ),
            }
            Ok(Outcome::Ok)
        }
        EvidenceCmd::Transfer {
            evidence,
            to,
            purpose,
            client,
        } => {
            let (inc, ev) = split_ref(&evidence)?;
            let c = Client::new(&client)?;
            let v: EvidenceView = c
                .post(
                    &format!(
                        "/api/v1/incidents/{}/evidence/{}/transfer",
                        seg(&inc),
                        seg(&ev)
                    ),
                    &json!({"to": to, "purpose": purpose}),
                )
                .await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => outln!(
                    "{} is now held by {} (stored content re-hashed: {}).",
                    v.reference,
                    v.item.custodian,
                    v.item.sha256
                ),
            }
            Ok(Outcome::Ok)
        }
    }
}

pub async fn export(args: ExportArgs) -> anyhow::Result<Outcome> {
    if args.output.exists() {
        bail!("{} exists; choose another --output", args.output.display());
    }
    let c = Client::new(&args.client)?;
    let resp = c
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/incidents/{}/export", seg(&args.incident)),
        )
        .query(&[
            ("purpose", args.purpose.as_str()),
            (
                "evidence",
                if args.with_evidence { "true" } else { "false" },
            ),
        ])
        .send()
        .await
        .context("exporting")?;
    let resp = check_response(resp, "exporting").await?;
    let (sha, n) = save_stream(resp, &args.output, "exporting")
        .await
        .map_err(|e| {
            if e.downcast_ref::<BrokeOff>().is_some() {
                e.context("the bundle broke off before its end: the connection was lost, or the server could not write what it had staged (its log says why); the export is recorded, so export again")
            } else {
                e
            }
        })?;
    std::fs::rename(partial_path(&args.output), &args.output)
        .with_context(|| format!("moving the bundle to {}", args.output.display()))?;
    let report = if args.no_verify {
        None
    } else {
        let path = args.output.clone();
        Some(
            tokio::task::spawn_blocking(move || {
                let f = std::fs::File::open(&path)?;
                palisade_store::bundle::verify_bundle(std::io::BufReader::new(f), None)
            })
            .await??,
        )
    };
    match args.client.format {
        Format::Json => outln!(
            "{}",
            json(
                &json!({"output": args.output, "bytes": n, "sha256": sha, "verification": report})
            )
        ),
        Format::Table => {
            outln!(
                "Wrote {} ({n} bytes, SHA-256 {sha}).",
                args.output.display()
            );
            if let Some(r) = &report {
                if r.ok() {
                    outln!(
                        "Verified offline: {} events, {} signatures, {} evidence files; signing key {}.",
                        r.events,
                        r.signatures_verified,
                        r.evidence_files_verified,
                        r.key_id.as_deref().unwrap_or("?")
                    );
                } else {
                    outln!("The bundle does NOT verify: {}", r.failures[0].what);
                }
            }
            outln!(
                "Anyone can check it with `palisade verify {}`.",
                args.output.display()
            );
        }
    }
    Ok(match report {
        Some(r) if !r.ok() => Outcome::Refused,
        _ => Outcome::Ok,
    })
}

pub async fn break_glass(args: BreakGlassArgs) -> anyhow::Result<Outcome> {
    let c = Client::new(&args.client)?;
    let v: BreakGlassView = c
        .post(
            &format!("/api/v1/incidents/{}/break-glass", seg(&args.incident)),
            &json!({"reason": args.reason, "minutes": args.minutes}),
        )
        .await?;
    match args.client.format {
        Format::Json => outln!("{}", json(&v)),
        Format::Table => {
            outln!(
                "Break-glass access to {} until {}. This is recorded in its ledger{}.",
                v.codename,
                v.until,
                match &v.notified {
                    Some(ic) => format!(" and its Incident Commander ({ic}) is notified"),
                    None => " (it has no Incident Commander to notify yet)".into(),
                }
            );
        }
    }
    Ok(Outcome::Ok)
}
