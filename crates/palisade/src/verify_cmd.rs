//! `palisade verify`.

use crate::{Format, Outcome};
use anyhow::{Context, bail};
use palisade_store::VerifyTarget;
use std::path::PathBuf;

/// Verify a ledger: every event's hash chain, every checkpoint's link, the newest signature of each
/// incident (all of them with --all-signatures), and the witness log. Exit 0 when everything
/// verifies, 1 when something does not (the first failure names incident, event and what
/// differs), 2 on errors.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// A data directory (default: $PALISADE_DATA_DIR or ./palisade-data), a postgres:// URL, or
    /// an export bundle file (verified offline: no server, no database).
    pub target: Option<String>,
    /// Trusted public key: a file or 64 hex characters. Default: the data directory's
    /// ledger-signing.pub. Give it explicitly for PostgreSQL, from a copy kept apart from the database.
    #[arg(long)]
    pub public_key: Option<String>,
    /// Witness log to compare with (default: the data directory's witness.log).
    #[arg(long)]
    pub witness: Option<PathBuf>,
    /// Check every checkpoint signature, not only the newest of each incident.
    #[arg(long)]
    pub all_signatures: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let target_text = args
        .target
        .clone()
        .or_else(|| std::env::var("PALISADE_DATA_DIR").ok())
        .unwrap_or_else(|| "palisade-data".into());
    if std::path::Path::new(&target_text).is_file() {
        return verify_bundle_file(&target_text, &args).await;
    }
    let target = if target_text.starts_with("postgres://")
        || target_text.starts_with("postgresql://")
    {
        VerifyTarget::Postgres(target_text.clone())
    } else {
        let dir = PathBuf::from(&target_text);
        if !dir.join(palisade_store::DATABASE_FILE).exists() {
            bail!(
                "{} holds no Palisade database ({}); give a data directory or a postgres:// URL",
                dir.display(),
                palisade_store::DATABASE_FILE
            );
        }
        VerifyTarget::DataDir(dir)
    };
    let key_spec = match (&args.public_key, &target) {
        (Some(k), _) => k.clone(),
        (None, VerifyTarget::DataDir(dir)) => palisade_store::keys::public_key_path(dir)
            .display()
            .to_string(),
        (None, VerifyTarget::Postgres(_)) => {
            let dir = std::env::var("PALISADE_DATA_DIR").unwrap_or_else(|_| "palisade-data".into());
            let p = palisade_store::keys::public_key_path(std::path::Path::new(&dir));
            if !p.exists() {
                bail!(
                    "give --public-key: the trusted public key must come from outside the database being verified"
                );
            }
            p.display().to_string()
        }
    };
    let key = palisade_store::keys::read_public_key(&key_spec)
        .with_context(|| format!("reading the trusted public key {key_spec}"))?;
    let started = std::time::Instant::now();
    let report = palisade_store::verify(&target, key, args.witness.as_deref(), args.all_signatures)
        .await
        .context("reading the ledger")?;
    let secs = started.elapsed().as_secs_f64();
    match args.format {
        Format::Json => outln!("{}", crate::output::json(&report)),
        Format::Table => {
            outln!(
                "{} incidents, {} events, {} checkpoints, {} signatures checked, {} witness entries ({:.2} s)",
                report.incidents,
                report.events,
                report.checkpoints,
                report.signatures_verified,
                report.witness_entries,
                secs
            );
            match report.failures.first() {
                None => outln!("OK: the ledger verifies"),
                Some(f) => {
                    outln!(
                        "FAILED: incident {} event {}: {}",
                        f.incident.as_deref().unwrap_or("-"),
                        f.seq.map_or_else(|| "-".into(), |s| s.to_string()),
                        f.what
                    );
                    if report.failures.len() > 1 {
                        outln!(
                            "({} more problems; --format json lists them)",
                            report.failures.len() - 1
                        );
                    }
                }
            }
        }
    }
    Ok(if report.ok() {
        Outcome::Ok
    } else {
        Outcome::Refused
    })
}

/// Verify an export bundle offline.
async fn verify_bundle_file(path: &str, args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let key = match &args.public_key {
        Some(spec) => Some(
            palisade_store::keys::read_public_key(spec)
                .with_context(|| format!("reading the trusted public key {spec}"))?,
        ),
        None => None,
    };
    let p = path.to_string();
    let report = tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&p).with_context(|| format!("opening {p}"))?;
        palisade_store::bundle::verify_bundle(std::io::BufReader::with_capacity(1 << 20, f), key)
            .with_context(|| format!("reading {p}"))
    })
    .await??;
    match args.format {
        Format::Json => outln!("{}", crate::output::json(&report)),
        Format::Table => {
            outln!(
                "bundle of {} ({}), exported {} by {}",
                report.codename.as_deref().unwrap_or("?"),
                report.incident.map(|i| i.to_string()).unwrap_or_default(),
                report.exported_at.as_deref().unwrap_or("?"),
                report.exported_by.as_deref().unwrap_or("?"),
            );
            outln!(
                "{} events, {} checkpoints, {} signatures checked, {} evidence listed, {} evidence files verified",
                report.events,
                report.checkpoints,
                report.signatures_verified,
                report.evidence_listed,
                report.evidence_files_verified
            );
            if let Some(k) = &report.key_id {
                outln!(
                    "signing key {k}{}",
                    if args.public_key.is_some() {
                        " (the trusted key you gave)"
                    } else {
                        " (the bundle's own: compare it with the key your counterpart published, or pass --public-key)"
                    }
                );
            }
            match report.failures.first() {
                None => outln!("OK: the bundle verifies"),
                Some(f) => {
                    outln!(
                        "FAILED: {}{}",
                        f.seq.map_or_else(String::new, |s| format!("event {s}: ")),
                        f.what
                    );
                    if report.failures.len() > 1 {
                        outln!(
                            "({} more problems; --format json lists them)",
                            report.failures.len() - 1
                        );
                    }
                }
            }
        }
    }
    Ok(if report.ok() {
        Outcome::Ok
    } else {
        Outcome::Refused
    })
}
