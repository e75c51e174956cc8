//! `palisade service …`: services, the systems teams own, recorded on the ledger like incidents.
//! A thin client of the HTTP API.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::views::{ServiceList, ServiceView};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum ServiceCmd {
    /// Create a service. Its name is unique: 1–64 characters of a-z, 0-9, '.', '_', '-'.
    Create {
        /// e.g. payments-api
        name: String,
        /// What the service is, in a sentence.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List services by name.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a service and its history (every change is an event on its ledger).
    Show {
        /// Name or id.
        service: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Rename a service (the new name must be free).
    Rename {
        /// Current name or id.
        service: String,
        /// The new name.
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn print_service(v: &ServiceView, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            outln!("{} ({})", v.name, v.id);
            if let Some(d) = &v.description {
                outln!("  {d}");
            }
            outln!(
                "  created by {} at {}; {} events",
                v.created_by,
                v.created_at,
                v.events
            );
            outln!();
            let rows: Vec<Vec<String>> = v
                .history
                .iter()
                .map(|h| {
                    vec![
                        h.seq.to_string(),
                        h.recorded_at.clone(),
                        h.actor.clone(),
                        h.description.clone(),
                    ]
                })
                .collect();
            out!("{}", table(&["#", "recorded", "by", "event"], &rows));
        }
    }
}

pub async fn run(cmd: ServiceCmd) -> anyhow::Result<Outcome> {
    match cmd {
        ServiceCmd::Create {
            name,
            description,
            client,
        } => {
            let c = Client::new(&client)?;
            let v: ServiceView = c
                .post(
                    "/api/v1/services",
                    &json!({"name": name, "description": description}),
                )
                .await?;
            print_service(&v, client.format);
        }
        ServiceCmd::List { client } => {
            let c = Client::new(&client)?;
            let list: ServiceList = c.get("/api/v1/services").await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .services
                        .iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                s.description.clone().unwrap_or_default(),
                                s.updated_at.clone(),
                                s.events.to_string(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(&["NAME", "DESCRIPTION", "UPDATED", "EVENTS"], &rows)
                    );
                }
            }
        }
        ServiceCmd::Show { service, client } => {
            let c = Client::new(&client)?;
            let v: ServiceView = c
                .get(&format!("/api/v1/services/{}", seg(&service)))
                .await?;
            print_service(&v, client.format);
        }
        ServiceCmd::Rename {
            service,
            name,
            client,
        } => {
            let c = Client::new(&client)?;
            let v: ServiceView = c
                .post(
                    &format!("/api/v1/services/{}/rename", seg(&service)),
                    &json!({ "name": name }),
                )
                .await?;
            print_service(&v, client.format);
        }
    }
    Ok(Outcome::Ok)
}
