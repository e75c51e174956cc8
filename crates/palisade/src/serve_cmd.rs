//! `palisade serve`.

use crate::Outcome;
use anyhow::Context;
use palisade_server::ServerConfig;
use palisade_store::StoreConfig;
use std::path::PathBuf;

/// Configuration: flags, then environment, then `palisade.toml` in the data directory.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:7878]
    #[arg(long, env = "PALISADE_LISTEN")]
    pub listen: Option<String>,
    /// Data directory: SQLite database, signing key, witness log [default: ./palisade-data]
    #[arg(long, env = "PALISADE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL (postgres://…) instead of the embedded SQLite database.
    #[arg(long, env = "PALISADE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of custom playbooks (*.toml), loaded beside the built-in ones.
    #[arg(long, env = "PALISADE_PLAYBOOKS")]
    pub playbooks: Option<PathBuf>,
    /// External witness: POST every signed checkpoint to this URL as well (retried until accepted).
    #[arg(long, env = "PALISADE_WITNESS_URL")]
    pub witness_url: Option<String>,
    /// Evidence blob store: s3://bucket[/prefix] (credentials and endpoint from the AWS_*
    /// environment variables) [default: the data directory's evidence/ folder]
    #[arg(long, env = "PALISADE_EVIDENCE_STORE")]
    pub evidence_store: Option<String>,
    /// Largest evidence upload in bytes [default: 256 GiB]
    #[arg(long, env = "PALISADE_EVIDENCE_MAX_BYTES")]
    pub evidence_max_bytes: Option<u64>,
    /// Notification webhook: break-glass notices to Incident Commanders are POSTed here, signed
    /// per Standard Webhooks with the notify secret, and retried until accepted.
    #[arg(long, env = "PALISADE_NOTIFY_URL")]
    pub notify_url: Option<String>,
    /// Secret for signing notifications (whsec_<base64> or any string). Prefer the environment
    /// or palisade.toml.
    #[arg(long, env = "PALISADE_NOTIFY_SECRET", hide_env_values = true)]
    pub notify_secret: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database_url: Option<String>,
    playbooks: Option<PathBuf>,
    witness_url: Option<String>,
    evidence_store: Option<String>,
    evidence_max_bytes: Option<u64>,
    notify_url: Option<String>,
    notify_secret: Option<String>,
    /// Update cadences, notification deadlines, phrases to avoid (docs/communications.md).
    #[serde(default)]
    comms: palisade_core::comms::CommsPolicy,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr)
        .init();
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| PathBuf::from("palisade-data"));
    let file_path = data_dir.join("palisade.toml");
    let file: FileConfig = if file_path.exists() {
        let text = std::fs::read_to_string(&file_path)
            .with_context(|| format!("reading {}", file_path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", file_path.display()))?
    } else {
        FileConfig::default()
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:7878".into());
    let config = ServerConfig {
        store: StoreConfig {
            data_dir: data_dir.clone(),
            database_url: args.database_url.or(file.database_url),
        },
        playbooks_dir: args.playbooks.or(file.playbooks),
        witness_url: args.witness_url.or(file.witness_url),
        evidence_store: args.evidence_store.or(file.evidence_store),
        evidence_max_bytes: args.evidence_max_bytes.or(file.evidence_max_bytes),
        notify: match (
            args.notify_url.or(file.notify_url),
            args.notify_secret.or(file.notify_secret),
        ) {
            (Some(url), Some(secret)) => {
                Some(palisade_server::notify::NotifyConfig::new(url, secret))
            }
            (Some(_), None) => anyhow::bail!(
                "notify_url is set but no notify_secret to sign notifications with; set PALISADE_NOTIFY_SECRET or notify_secret in palisade.toml"
            ),
            (None, _) => None,
        },
        comms: file.comms,
    };
    let app = palisade_server::start(&config)
        .await
        .context("starting the server")?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; is another server running there? Use --listen to pick another address"))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    outln!("Palisade {} is serving at {url}", env!("CARGO_PKG_VERSION"));
    outln!(
        "  storage: {} ({})",
        app.state.store.backend(),
        match &config.store.database_url {
            Some(_) => "PostgreSQL".to_string(),
            None => data_dir
                .join(palisade_store::DATABASE_FILE)
                .display()
                .to_string(),
        }
    );
    if app.key_created {
        outln!(
            "  created the ledger signing key in {} (keep it; the public key is {})",
            data_dir.display(),
            palisade_store::keys::public_key_path(&data_dir).display()
        );
    }
    if let Some(token) = &app.bootstrap_token {
        outln!();
        outln!("First start: an admin account was created. Its token is shown only this once:");
        outln!();
        outln!("  export PALISADE_URL={url}");
        outln!("  export PALISADE_TOKEN={token}");
        outln!();
        outln!(
            "Then try: palisade incident declare --title \"Suspicious logins\" --severity SEV-2"
        );
    }
    axum::serve(listener, app.router)
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving HTTP")?;
    Ok(Outcome::Ok)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
