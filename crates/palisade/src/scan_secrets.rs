//! `palisade scan secrets`: argument parsing and glue around `palisade-secrets`.
//!
//! Exit codes: 0 no findings and no read errors, 1 findings, 2 error (bad arguments or
//! configuration, or some input could not be read or was skipped — over the size cap, a binary
//! named on the command line — without `--skip-ok`, and nothing was found).

use palisade_secrets::baseline::Baseline;
use palisade_secrets::verify::{Verification, Verifiers, VerifyStatus};
use palisade_secrets::walk::{self, WalkOptions};
use palisade_secrets::{Finding, Outcome, Progress, RuleSet, Scanner, git, gitleaks, report};
use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories to scan; `-` reads stdin. With --git/--staged: the repository.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Scan the full git history: every blob reachable from any ref, once.
    #[arg(long, conflicts_with = "staged")]
    git: bool,
    /// Scan the staged contents (the git index), for pre-commit hooks.
    #[arg(long)]
    staged: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Print secrets in full instead of redacted.
    #[arg(long)]
    show_secrets: bool,
    /// Show every finding. By default only high- and medium-confidence findings outside
    /// test, example and docs paths are shown (example values, placeholders, references,
    /// localhost credentials and values equal to their key are low confidence).
    #[arg(long)]
    all: bool,
    /// Extra rules / allowlist file in palisade's rule schema (repeatable).
    #[arg(long, value_name = "FILE")]
    config: Vec<PathBuf>,
    /// Use the rules and allowlists of a gitleaks TOML config.
    #[arg(long, value_name = "FILE")]
    gitleaks_config: Option<PathBuf>,
    /// Do not use the built-in rules (only --config / --gitleaks-config ones).
    #[arg(long)]
    no_builtin_rules: bool,
    /// Do not report findings whose fingerprint is in this baseline file.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the fingerprints of all current findings to FILE and exit 0.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Skip files (and blobs) larger than this; accepts K, M, G suffixes.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    max_file_size: u64,
    /// Worker threads (0 = one per CPU).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Follow symbolic links while walking (loops are detected and reported).
    #[arg(long)]
    follow_symlinks: bool,
    /// Inputs skipped on purpose (over the size cap, a binary file named on the command line)
    /// are listed but do not make the run exit 2.
    #[arg(long)]
    skip_ok: bool,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Ask each shown finding's provider whether the credential is live (one read-only API
    /// call per distinct secret; off by default, and it sends the secret to that provider):
    /// GitHub, GitLab, Slack, Stripe, npm and OpenAI keys. Each gets verified, unverified or
    /// unknown with the reason; verified findings are listed first.
    #[arg(long)]
    verify: bool,
    /// Send PROVIDER's checks to URL instead of its public API (repeatable): a self-hosted
    /// GitLab, a proxy, a mock server. Example: --verify-endpoint gitlab=https://git.example.com/api/v4/user
    #[arg(long, value_name = "PROVIDER=URL", requires = "verify")]
    verify_endpoint: Vec<String>,
    /// Raise an alert for each verified (live) secret through Palisade's Events API, with this
    /// integration's routing key: the owning service's on-call hears of it at once. One alert
    /// per secret (its fingerprint is the dedup_key), so scanning again adds an occurrence, not
    /// an alert; the secret itself is never sent.
    #[arg(
        long,
        value_name = "ROUTING_KEY",
        env = "PALISADE_ALERT_ROUTING_KEY",
        hide_env_values = true,
        requires = "verify"
    )]
    alert: Option<String>,
    /// The Palisade server alerts go to [default: $PALISADE_URL, or http://127.0.0.1:7878]
    #[arg(long, value_name = "URL", requires = "alert")]
    alert_url: Option<String>,
}

/// A size with an optional K, M or G suffix (`64M`); also `scan config`'s `--max-file-size`.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("unknown size suffix `{c}` (use K, M or G)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|e| format!("invalid size `{s}`: {e}"))
}

/// Run the command and return the process exit code.
pub fn run(args: Args) -> i32 {
    match run_inner(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            2
        }
    }
}

fn load_rules(args: &Args) -> anyhow::Result<RuleSet> {
    let mut set = if args.no_builtin_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin()
    };
    for path in &args.config {
        let src = read_text(path)?;
        set.merge(RuleSet::from_toml(&src, &path.display().to_string())?);
    }
    if let Some(path) = &args.gitleaks_config {
        let src = read_text(path)?;
        let (gl, notes) = gitleaks::load(&src, &path.display().to_string())?;
        for n in notes {
            eprintln!(
                "palisade: warning: {}:{}: `{}` not honoured: {}",
                path.display(),
                n.line,
                n.field,
                n.what
            );
        }
        set.merge(gl);
    }
    if set.rules.is_empty() {
        anyhow::bail!(
            "no rules to scan with (--no-builtin-rules without --config or --gitleaks-config rules)"
        );
    }
    Ok(set)
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The verifiers, with `--verify-endpoint`s applied.
fn load_verifiers(args: &Args) -> anyhow::Result<Verifiers> {
    let mut verifiers = Verifiers::builtin();
    for e in &args.verify_endpoint {
        let (provider, url) = e
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--verify-endpoint wants PROVIDER=URL, not {e:?}"))?;
        verifiers
            .with_endpoint(provider, url)
            .map_err(|m| anyhow::anyhow!("--verify-endpoint: {m}"))?;
    }
    Ok(verifiers)
}

/// Check every finding a verifier covers (once per distinct secret), then list verified
/// findings first.
fn verify_findings(findings: &mut [Finding], verifiers: &Verifiers) -> anyhow::Result<()> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let mut done: HashMap<(String, String, Option<String>), Verification> = HashMap::new();
    for f in findings.iter_mut() {
        let Some(req) = verifiers.request(f, time::OffsetDateTime::now_utc()) else {
            continue;
        };
        let req = match req {
            Ok(req) => req,
            Err(unknown) => {
                f.verification = Some(unknown);
                continue;
            }
        };
        let key = (req.provider.clone(), f.secret.clone(), f.companion.clone());
        let result = match done.get(&key) {
            Some(v) => v.clone(),
            None => {
                let mut call = if req.post {
                    client.post(&req.url)
                } else {
                    client.get(&req.url)
                };
                for (name, value) in &req.headers {
                    call = call.header(name, value);
                }
                if let Some(body) = &req.body {
                    call = call.body(body.clone());
                }
                let v = match call.send() {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        // Enough of the body to judge it; a provider's answer is small.
                        let mut body = Vec::new();
                        let _ = resp.take(64 * 1024).read_to_end(&mut body);
                        verifiers.judge(&req.provider, status, &String::from_utf8_lossy(&body))
                    }
                    Err(e) => Verifiers::unreachable(&req.provider, &error_chain(&e)),
                };
                done.insert(key, v.clone());
                v
            }
        };
        f.verification = Some(result);
    }
    findings.sort_by_key(|f| {
        f.verification
            .as_ref()
            .is_none_or(|v| v.status != VerifyStatus::Verified)
    });
    Ok(())
}

/// The Events API trigger for a live secret: no secret value, only where it is and what it is.
fn live_secret_event(f: &Finding, key: &str) -> serde_json::Value {
    let place = format!("{}:{}", f.path, f.line);
    serde_json::json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": format!("secret/{}", f.fingerprint),
        "payload": {
            "summary": format!("Live secret ({}) found in {place}: revoke and rotate it now", f.rule_id),
            "source": place,
            "severity": "critical",
            "component": f.path,
            "class": "live-secret",
            "custom_details": {
                "rule": f.rule_id,
                "description": f.description,
                "path": f.path,
                "line": f.line,
                "fingerprint": f.fingerprint,
                "commit": f.commit.as_ref().map(|c| &c.commit),
                "verification": f.verification.as_ref().map(|v| &v.reason),
            }
        },
        "client": "palisade scan secrets"
    })
}

/// Raise an alert for each verified finding; how many were raised. A refused or failed send is
/// an error: a live secret nobody hears of is worse than a failed scan.
fn raise_alerts(findings: &[Finding], base: &str, key: &str) -> anyhow::Result<usize> {
    let live: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == VerifyStatus::Verified)
        })
        .collect();
    if live.is_empty() {
        return Ok(0);
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let url = format!("{}/v2/enqueue", base.trim_end_matches('/'));
    for f in &live {
        let resp = client
            .post(&url)
            .json(&live_secret_event(f, key))
            .send()
            .map_err(|e| anyhow::anyhow!("raising an alert at {url}: {}", error_chain(&e)))?;
        let status = resp.status();
        if status.as_u16() != 202 {
            let body = resp.text().unwrap_or_default();
            anyhow::bail!(
                "raising an alert at {url}: {status}: {}",
                body.chars().take(500).collect::<String>()
            );
        }
    }
    Ok(live.len())
}

/// An error with its causes ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

fn run_inner(args: &Args) -> anyhow::Result<i32> {
    let rules = load_rules(args)?;
    let verifiers = if args.verify {
        Some(load_verifiers(args)?)
    } else {
        None
    };
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    let scanner = Scanner::new(rules);
    let progress = Progress::default();
    let show_progress = !args.no_progress && std::io::stderr().is_terminal();

    let mut outcome = std::thread::scope(|s| -> anyhow::Result<Outcome> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        if show_progress {
            let progress = &progress;
            s.spawn(move || progress_loop(progress, &stop_rx));
        }
        let result = scan(args, &scanner, &progress);
        drop(stop_tx);
        result
    })?;

    if let Some(b) = &baseline {
        let n = b.filter(&mut outcome.findings);
        if n > 0 {
            eprintln!("palisade: {n} finding(s) accepted by the baseline");
        }
    }
    for i in &outcome.issues {
        let kind = if i.is_error { "error" } else { "warning" };
        eprintln!("palisade: {kind}: {}: {}", i.path, i.message);
    }
    if let Some(path) = &args.write_baseline {
        let n = Baseline::write(path, &outcome.findings)?;
        eprintln!("palisade: wrote {n} fingerprint(s) to {}", path.display());
        return Ok(0);
    }
    let hidden = if args.all {
        0
    } else {
        outcome.keep_default_view()
    };
    if let Some(v) = &verifiers {
        verify_findings(&mut outcome.findings, v)?;
    }
    if let Some(key) = &args.alert {
        let base = args
            .alert_url
            .clone()
            .or_else(|| std::env::var("PALISADE_URL").ok())
            .unwrap_or_else(|| "http://127.0.0.1:7878".into());
        let n = raise_alerts(&outcome.findings, &base, key)?;
        if n > 0 {
            eprintln!("palisade: raised {n} alert(s) for live secrets at {base}");
        }
    }

    let mut out = std::io::stdout().lock();
    let rendered = match args.format {
        Format::Table => {
            let color = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            report::table(&outcome, args.show_secrets, color)
        }
        Format::Json => format!("{:#}\n", report::json(&outcome, args.show_secrets)),
        Format::Sarif => {
            format!(
                "{:#}\n",
                report::sarif(
                    &outcome,
                    scanner.rules(),
                    env!("CARGO_PKG_VERSION"),
                    args.show_secrets
                )
            )
        }
    };
    // A closed pipe (e.g. `| head`) is not an error worth a stack of messages.
    let _ = out.write_all(rendered.as_bytes());
    let _ = out.flush();
    let hidden = if hidden > 0 {
        format!(
            " ({hidden} hidden: low confidence or a test/example/docs/locale path; --all shows them)"
        )
    } else {
        String::new()
    };
    eprintln!(
        "palisade: {} finding(s){hidden}; scanned {} file(s), {} bytes; skipped {} binary, {} over the size cap",
        outcome.findings.len(),
        outcome.files_scanned,
        outcome.bytes_scanned,
        outcome.skipped_binary,
        outcome.skipped_too_large
    );
    Ok(if !outcome.findings.is_empty() {
        1
    } else if outcome.has_errors() || (outcome.has_skips() && !args.skip_ok) {
        2
    } else {
        0
    })
}

fn scan(args: &Args, scanner: &Scanner, progress: &Progress) -> anyhow::Result<Outcome> {
    let first = args.paths.first().map_or(Path::new("."), PathBuf::as_path);
    if args.git {
        return Ok(git::scan_history(
            scanner,
            first,
            args.max_file_size,
            args.threads,
            progress,
        )?);
    }
    if args.staged {
        return Ok(git::scan_staged(
            scanner,
            first,
            args.max_file_size,
            progress,
        )?);
    }
    let mut total = Outcome::default();
    let files: Vec<&Path> = args
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .map(PathBuf::as_path)
        .collect();
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        let o = walk::scan_reader(
            scanner,
            "<stdin>",
            std::io::stdin().lock(),
            args.max_file_size,
        )?;
        merge(&mut total, o);
    }
    if !files.is_empty() {
        let opts = WalkOptions {
            max_file_size: args.max_file_size,
            follow_symlinks: args.follow_symlinks,
            threads: args.threads,
        };
        merge(
            &mut total,
            walk::scan_paths(scanner, &files, &opts, progress),
        );
    }
    total.finish();
    Ok(total)
}

fn merge(into: &mut Outcome, mut o: Outcome) {
    into.findings.append(&mut o.findings);
    into.issues.append(&mut o.issues);
    into.files_scanned += o.files_scanned;
    into.bytes_scanned += o.bytes_scanned;
    into.skipped_binary += o.skipped_binary;
    into.skipped_too_large += o.skipped_too_large;
}

fn progress_loop(progress: &Progress, stop: &mpsc::Receiver<()>) {
    use std::sync::atomic::Ordering::Relaxed;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    loop {
        let total = progress.total.load(Relaxed);
        let files = progress.files.load(Relaxed);
        let of = if total > 0 {
            format!("/{total}")
        } else {
            String::new()
        };
        bar.set_message(format!(
            "{files}{of} blobs, {} MiB, {} finding(s)",
            progress.bytes.load(Relaxed) >> 20,
            progress.findings.load(Relaxed)
        ));
        bar.tick();
        match stop.recv_timeout(Duration::from_millis(120)) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            _ => break,
        }
    }
    bar.finish_and_clear();
}
