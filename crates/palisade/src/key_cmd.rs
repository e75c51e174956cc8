//! `palisade key …`: the ledger signing key's public half, for verifiers and auditors.

use crate::settings::DataDirArg;
use crate::{Format, Outcome};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Print the public half of the ledger signing key (64 hex characters and a newline), from
    /// PALISADE_SIGNING_KEY when it is set, else the data directory's key files. Give it to
    /// whoever verifies your ledger or export bundles: `palisade key public > ledger-signing.pub`.
    Public {
        #[command(flatten)]
        data_dir: DataDirArg,
        /// Output: `table` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub fn run(cmd: KeyCmd) -> anyhow::Result<Outcome> {
    match cmd {
        KeyCmd::Public { data_dir, format } => {
            let key = palisade_store::keys::public_key_of(&data_dir.resolve())?;
            let hex = hex::encode(key.as_bytes());
            let id = palisade_core::chain::key_id(&key);
            match format {
                Format::Table => outln!("{hex}"),
                Format::Json => {
                    outln!("{}", serde_json::json!({ "public_key": hex, "key_id": id }))
                }
            }
            Ok(Outcome::Ok)
        }
    }
}
