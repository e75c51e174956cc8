//! `palisade serve`.

use crate::Outcome;
use crate::settings::DataDirArg;
use anyhow::Context;
use palisade_app::App;
use palisade_app::settings::{Given, LogFormat, Settings};
use std::path::PathBuf;

/// Configuration: flags, then environment, then `palisade.toml` in the data directory.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:7878]
    #[arg(long, env = "PALISADE_LISTEN")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDirArg,
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
    /// Email notifications through this SMTP server: smtp://host:25, smtp://host:587?tls=required
    /// (STARTTLS), smtps://user:password@host:465. Prefer the environment or palisade.toml.
    #[arg(long, env = "PALISADE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of email notifications, e.g. "Palisade <palisade@example.com>".
    #[arg(long, env = "PALISADE_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, env = "PALISADE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "PALISADE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Log filter, e.g. `info` or `palisade_app=debug,info` [default: info]
    #[arg(long, env = "PALISADE_LOG")]
    pub log: Option<String>,
    /// Log lines as text for people, or one JSON object per line for log shippers [default: text]
    #[arg(long, env = "PALISADE_LOG_FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none())
            .init(),
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let data_dir = args.data_dir.resolve();
    let given = Given {
        listen: args.listen,
        database_url: args.database_url,
        playbooks: args.playbooks,
        witness_url: args.witness_url,
        evidence_store: args.evidence_store,
        evidence_max_bytes: args.evidence_max_bytes,
        notify_url: args.notify_url,
        notify_secret: args.notify_secret,
        smtp_url: args.smtp_url,
        smtp_from: args.smtp_from,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        log: args.log,
        log_format: args
            .log_format
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?,
    };
    let settings = Settings::load(data_dir.clone(), given)?;
    init_logging(&settings);
    let config = settings.app_config();
    let listen = settings.listen.clone();
    // Certificate problems are found before anything starts.
    let tls = match &settings.tls {
        Some((cert, key)) => Some(palisade_server::tls::server_config(cert, key)?),
        None => None,
    };
    let started = App::start(&config).await.context("starting the server")?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; is another server running there? Use --listen to pick another address"))?;
    let addr = listener.local_addr()?;
    let url = format!("{}://{addr}", if tls.is_some() { "https" } else { "http" });
    outln!("Palisade {} is serving at {url}", env!("CARGO_PKG_VERSION"));
    outln!(
        "  storage: {} ({})",
        started.app.store().backend(),
        match &settings.database_url {
            Some(_) => "PostgreSQL".to_string(),
            None => data_dir.database().display().to_string(),
        }
    );
    let key = palisade_store::keys::public_key_of(&data_dir)?;
    let key_id = palisade_core::chain::key_id(&key);
    tracing::info!(key_id = %key_id, "ledger signing key");
    if started.key_created {
        outln!(
            "  created the ledger signing key in {} (keep it; the public key is {})",
            data_dir,
            data_dir.public_key().display()
        );
    }
    outln!(
        "  ledger signing key {key_id}: public key {} (`palisade key public` prints it)",
        hex::encode(key.as_bytes())
    );
    if let Some(token) = &started.bootstrap_token {
        outln!();
        outln!("First start: an admin account was created. Its token is shown only this once:");
        outln!();
        outln!("  export PALISADE_URL={url}");
        outln!("  export PALISADE_TOKEN={token}");
        outln!();
        outln!(
            "Then try: palisade incident declare --title \"Suspicious logins\" --severity SEV-2"
        );
        outln!("Or open {url}/ in a browser and sign in with the token.");
    }
    let router = palisade_server::router_with(
        started.app.clone(),
        palisade_web::WebOptions {
            secure_cookies: tls.is_some(),
        },
    );
    match tls {
        Some(config) => palisade_server::tls::serve(listener, router, config, shutdown()).await,
        None => axum::serve(listener, router)
            .with_graceful_shutdown(shutdown())
            .await
            .context("serving HTTP")?,
    }
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
