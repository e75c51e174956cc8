//! `palisade alert …`: alerts from monitoring (the Events API) — list, show with the reason for
//! every deduplication, acknowledge, resolve. A thin client of the HTTP API.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::routes::alerts::{AlertList, AlertView, Promoted};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum AlertCmd {
    /// List alerts, newest first.
    List {
        /// Only this service's (name or id).
        #[arg(long)]
        service: Option<String>,
        /// Only alerts in this status: triggered, acknowledged or resolved.
        #[arg(long)]
        status: Option<String>,
        /// At most this many (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show an alert and its history: each trigger, and why later ones were deduplicated into it.
    Show {
        /// The alert's id.
        alert: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Acknowledge an alert (you are on it).
    #[command(alias = "ack")]
    Acknowledge {
        /// The alert's id.
        alert: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Resolve an alert; a later trigger with its key opens a new one.
    Resolve {
        /// The alert's id.
        alert: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Declare an incident from an alert, linking both. Title and summary default to the
    /// alert's, the severity follows the alert's (critical → SEV-1 … info → SEV-4); a security
    /// incident (restricted to its members) unless --kind operational.
    Promote {
        /// The alert's id.
        alert: String,
        /// SEV-1 … SEV-5 [default: from the alert's severity]
        #[arg(long)]
        severity: Option<String>,
        /// security or operational [default: security]
        #[arg(long)]
        kind: Option<String>,
        /// The incident's title [default: the alert's summary]
        #[arg(long)]
        title: Option<String>,
        /// Make this user Incident Commander right away.
        #[arg(long)]
        commander: Option<String>,
        /// Print only the incident's codename.
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn print_alert(v: &AlertView, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            outln!(
                "{} [{}] {}",
                v.id,
                v.status.as_str(),
                v.details["summary"].as_str().unwrap_or_default()
            );
            outln!(
                "  service {}  dedup_key {:?}  severity {}  occurrences {}",
                v.service,
                v.dedup_key,
                v.severity,
                v.occurrences
            );
            if let Some(by) = &v.acknowledged_by {
                outln!(
                    "  acknowledged by {by} at {}",
                    v.acknowledged_at.clone().unwrap_or_default()
                );
            }
            if let Some(codename) = &v.incident {
                outln!("  promoted to incident {codename}");
            } else if v.promoted {
                outln!("  promoted to an incident");
            }
            if let Some(by) = &v.resolved_by {
                outln!(
                    "  resolved by {by} at {}",
                    v.resolved_at.clone().unwrap_or_default()
                );
            }
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
            if v.history_elided > 0 {
                outln!(
                    "({} older deduplications not listed; the alert's web page lists every event)",
                    v.history_elided
                );
            }
        }
    }
}

pub async fn run(cmd: AlertCmd) -> anyhow::Result<Outcome> {
    match cmd {
        AlertCmd::List {
            service,
            status,
            limit,
            client,
        } => {
            let c = Client::new(&client)?;
            let mut q = vec![format!("limit={limit}")];
            if let Some(s) = service {
                q.push(format!("service={}", seg(&s)));
            }
            if let Some(s) = status {
                q.push(format!("status={}", seg(&s)));
            }
            let list: AlertList = c.get(&format!("/api/v1/alerts?{}", q.join("&"))).await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .alerts
                        .iter()
                        .map(|a| {
                            vec![
                                a.id.to_string(),
                                a.status.clone(),
                                a.severity.clone(),
                                a.occurrences.to_string(),
                                a.triggered_at.clone(),
                                a.summary.clone(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(
                            &["ID", "STATUS", "SEVERITY", "TIMES", "TRIGGERED", "SUMMARY"],
                            &rows
                        )
                    );
                }
            }
        }
        AlertCmd::Show { alert, client } => {
            let c = Client::new(&client)?;
            let v: AlertView = c.get(&format!("/api/v1/alerts/{}", seg(&alert))).await?;
            print_alert(&v, client.format);
        }
        AlertCmd::Acknowledge { alert, client } => {
            let c = Client::new(&client)?;
            let v: AlertView = c
                .post(
                    &format!("/api/v1/alerts/{}/acknowledge", seg(&alert)),
                    &json!({}),
                )
                .await?;
            print_alert(&v, client.format);
        }
        AlertCmd::Promote {
            alert,
            severity,
            kind,
            title,
            commander,
            quiet,
            client,
        } => {
            let c = Client::new(&client)?;
            let mut body = serde_json::Map::new();
            for (k, v) in [
                ("severity", severity),
                ("kind", kind),
                ("title", title),
                ("commander", commander),
            ] {
                if let Some(v) = v {
                    body.insert(k.into(), v.into());
                }
            }
            let p: Promoted = c
                .post(
                    &format!("/api/v1/alerts/{}/promote", seg(&alert)),
                    &serde_json::Value::Object(body),
                )
                .await?;
            if quiet {
                outln!("{}", p.codename);
            } else if client.format == Format::Json {
                outln!("{}", json(&p));
            } else {
                outln!(
                    "Incident {} declared from alert {}; `palisade incident show {}`",
                    p.codename,
                    p.alert.id,
                    p.codename
                );
            }
        }
        AlertCmd::Resolve { alert, client } => {
            let c = Client::new(&client)?;
            let v: AlertView = c
                .post(
                    &format!("/api/v1/alerts/{}/resolve", seg(&alert)),
                    &json!({}),
                )
                .await?;
            print_alert(&v, client.format);
        }
    }
    Ok(Outcome::Ok)
}
