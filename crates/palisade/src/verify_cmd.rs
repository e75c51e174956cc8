//! `palisade verify`.

use crate::settings::DataDirArg;
use crate::{Format, Outcome};
use anyhow::{Context, bail};
use palisade_app::settings::{Given, Settings};
use palisade_store::DataDir;
use palisade_store::VerifyTarget;
use std::path::PathBuf;

/// Verify a ledger: every stream's hash chain, every checkpoint's link, the newest signature of
/// each stream (all of them with --all-signatures), and the witness log. Exit 0 when everything
/// verifies, 1 when something does not (the first failure names stream, event and what differs),
/// 2 on errors.
///
/// Without a target, the data directory is verified — or, when its palisade.toml names a
/// database_url, that PostgreSQL database, with the data directory's public key and witness log.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// A data directory, a postgres:// URL, or an export bundle file (verified offline: no
    /// server, no database) [default: the data directory, or its configured database]
    pub target: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDirArg,
    /// Trusted public key: a file or 64 hex characters. Default: the data directory's
    /// ledger-signing.pub. Give it explicitly for PostgreSQL, from a copy kept apart from the database.
    #[arg(long)]
    pub public_key: Option<String>,
    /// A witness log to compare with; repeat for each node's (and the external witness's copy).
    /// A data directory's own witness.log is always compared; for PostgreSQL the data
    /// directory's is used when none is given.
    #[arg(long)]
    pub witness: Vec<PathBuf>,
    /// Verify without any witness log, accepting that the newest events could have been removed
    /// with their checkpoints unnoticed. Without a witness log and without this, verify fails.
    #[arg(long)]
    pub no_witness: bool,
    /// Check every checkpoint signature, not only the newest of each stream.
    #[arg(long)]
    pub all_signatures: bool,
    /// Output: `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let home = args.data_dir.resolve();
    let target_text = match &args.target {
        Some(t) => t.clone(),
        None => {
            let settings = Settings::load(home.clone(), Given::default())?;
            settings
                .database_url
                .clone()
                .unwrap_or_else(|| home.path().display().to_string())
        }
    };
    if std::path::Path::new(&target_text).is_file() {
        return verify_bundle_file(&target_text, &args).await;
    }
    let target = if target_text.starts_with("postgres://")
        || target_text.starts_with("postgresql://")
    {
        VerifyTarget::Postgres(target_text.clone())
    } else {
        let dir = DataDir::new(&target_text);
        if !dir.has_database() {
            bail!(
                "{dir} holds no Palisade database ({}); give a data directory or a postgres:// URL",
                DataDir::DATABASE_FILE
            );
        }
        VerifyTarget::DataDir(dir.path().to_path_buf())
    };
    let key_spec = match (&args.public_key, &target) {
        (Some(k), _) => k.clone(),
        (None, VerifyTarget::DataDir(dir)) => DataDir::new(dir).public_key().display().to_string(),
        (None, VerifyTarget::Postgres(_)) => {
            let p = home.public_key();
            if !p.exists() {
                bail!(
                    "give --public-key: the trusted public key must come from outside the database being verified (no {} either)",
                    p.display()
                );
            }
            p.display().to_string()
        }
    };
    let mut witnesses = args.witness.clone();
    if witnesses.is_empty()
        && matches!(target, VerifyTarget::Postgres(_))
        && home.witness_log().exists()
    {
        witnesses.push(home.witness_log());
    }
    let opts = palisade_store::VerifyOptions {
        witnesses,
        no_witness: args.no_witness,
        all_signatures: args.all_signatures,
    };
    let key = palisade_store::keys::read_public_key(&key_spec)
        .with_context(|| format!("reading the trusted public key {key_spec}"))?;
    let started = std::time::Instant::now();
    let report = palisade_store::verify(&target, key, &opts)
        .await
        .context("reading the ledger")?;
    let secs = started.elapsed().as_secs_f64();
    match args.format {
        Format::Json => outln!("{}", crate::output::json(&report)),
        Format::Table => {
            outln!(
                "{}, {} events, {} checkpoints, {} signatures checked, {} witness entries ({:.2} s)",
                streams_by_kind(&report),
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
                        "FAILED: stream {} event {}: {}",
                        f.stream.as_deref().unwrap_or("-"),
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

/// "2 services, 1 incidents": the streams the ledger holds, by kind (incidents last, next to
/// the event count), or "0 streams".
fn streams_by_kind(report: &palisade_store::verify::Report) -> String {
    let mut kinds: Vec<(&String, &u64)> = report.kinds.iter().collect();
    kinds.sort_by_key(|(k, _)| (k.as_str() == "incident", k.as_str()));
    if kinds.is_empty() {
        return format!("{} streams", report.streams);
    }
    kinds
        .iter()
        .map(|(k, n)| match k.as_str() {
            "person" => format!("{n} people"),
            "escalation" => format!("{n} escalation policies"),
            _ => format!("{n} {k}s"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_are_named_as_people_say_them() {
        let mut report = palisade_store::verify::Report::default();
        for (k, n) in [
            ("person", 2),
            ("escalation", 1),
            ("incident", 3),
            ("alert", 4),
        ] {
            report.kinds.insert(k.to_string(), n);
        }
        assert_eq!(
            super::streams_by_kind(&report),
            "4 alerts, 1 escalation policies, 2 people, 3 incidents"
        );
    }
}
