//! `palisade delivery …`: the notification delivery log (admins): what was sent, what is still
//! being retried, what was given up (dead letters), and resending one.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::routes::deliveries::DeliveryList;

#[derive(Subcommand, Debug)]
pub enum DeliveryCmd {
    /// List deliveries, newest first.
    List {
        /// pending, delivered, dead or skipped (pages no longer needed) [default: all]
        #[arg(long)]
        state: Option<String>,
        /// At most this many (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Send a delivery again now, under the same id (its webhook-id), e.g. a dead letter once
    /// the receiver is fixed.
    Resend {
        /// The delivery's id (`palisade delivery list` shows it; receivers see it as the
        /// webhook-id or the email's Message-ID).
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub async fn run(cmd: DeliveryCmd) -> anyhow::Result<Outcome> {
    match cmd {
        DeliveryCmd::List {
            state,
            limit,
            client,
        } => {
            let c = Client::new(&client)?;
            let mut path = format!("/api/v1/deliveries?limit={limit}");
            if let Some(s) = state {
                path += &format!("&state={}", seg(&s));
            }
            let list: DeliveryList = c.get(&path).await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .deliveries
                        .iter()
                        .map(|d| {
                            vec![
                                d.id.to_string(),
                                d.state.clone(),
                                d.kind.clone(),
                                match &d.host {
                                    Some(h) => format!("{} ({h})", d.channel),
                                    None => d.channel.clone(),
                                },
                                d.attempts.to_string(),
                                d.created_at.clone(),
                                d.last_error.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(
                            &[
                                "ID",
                                "STATE",
                                "KIND",
                                "TO",
                                "TRIES",
                                "CREATED",
                                "LAST ERROR"
                            ],
                            &rows
                        )
                    );
                }
            }
        }
        DeliveryCmd::Resend { id, client } => {
            let c = Client::new(&client)?;
            let _: serde_json::Value = c
                .post(
                    &format!("/api/v1/deliveries/{}/resend", seg(&id)),
                    &serde_json::json!({}),
                )
                .await?;
            outln!("Delivery {id} is due again now.");
        }
    }
    Ok(Outcome::Ok)
}
