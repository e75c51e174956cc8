//! `palisade admin …`: what an operator does with access to the data directory or the database
//! only, without the API (the server need not run).

use crate::settings::DataDirArg;
use crate::{Format, Outcome};
use anyhow::Context;
use clap::Subcommand;
use palisade_app::App;
use palisade_app::settings::{Given, Settings};
use palisade_core::UserName;

#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Recover admin access when no admin token works any more: creates a new token for an
    /// admin account (created as one if missing) directly in the database, and records the
    /// recovery, with your reason, on the deployment's signed log. Needs the data directory
    /// (and, for PostgreSQL, the database); with SQLite, stop the server first.
    Recover {
        /// Why access is recovered (recorded on the ledger).
        #[arg(long)]
        reason: String,
        /// The admin account to give the new token to.
        #[arg(long, default_value = "admin")]
        user: String,
        #[command(flatten)]
        data_dir: DataDirArg,
        /// Use this PostgreSQL database (default: the data directory's palisade.toml).
        #[arg(long, env = "PALISADE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Output: `table` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// Who runs the recovery, as the ledger names them: the operating-system user when it makes a
/// valid name, else `operator`.
fn operator() -> UserName {
    std::env::var("USER")
        .ok()
        .map(|u| u.to_ascii_lowercase())
        .and_then(|u| UserName::parse(&u).ok())
        .unwrap_or_else(|| UserName::parse("operator").expect("valid"))
}

pub async fn run(cmd: AdminCmd) -> anyhow::Result<Outcome> {
    match cmd {
        AdminCmd::Recover {
            reason,
            user,
            data_dir,
            database_url,
            format,
        } => {
            let user = UserName::parse(&user)?;
            let settings = Settings::load(
                data_dir.resolve(),
                Given {
                    database_url,
                    ..Default::default()
                },
            )?;
            let mut config = settings.app_config();
            // A one-shot command: no notification or witness delivery from here.
            config.notify = None;
            config.witness_url = None;
            let started = App::start(&config)
                .await
                .context("opening the data directory and the database")?;
            if let Some(token) = started.bootstrap_token {
                outln!(
                    "The database had no accounts: an admin was created. Its token is shown only this once:"
                );
                outln!("{token}");
                return Ok(Outcome::Ok);
            }
            let (token, info) = started
                .app
                .recover_admin(operator(), user, reason)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match format {
                Format::Json => outln!(
                    "{}",
                    serde_json::json!({"token": token, "id": info.id, "user": info.user})
                ),
                Format::Table => {
                    outln!(
                        "Recovered admin access for {} (token {}), recorded on the deployment's log. The token is shown only this once:",
                        info.user,
                        info.id
                    );
                    outln!("{token}");
                }
            }
            Ok(Outcome::Ok)
        }
    }
}
