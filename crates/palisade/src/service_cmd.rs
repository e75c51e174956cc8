//! `palisade service …`: services, the systems teams own, recorded on the ledger like incidents:
//! their owning team, escalation policy, tier, runbooks and maintenance windows too.
//! A thin client of the HTTP API.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::routes::alerts::{ChangeList, IntegrationCreated};
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
    /// Add or revoke an integration (a routing key monitoring sends alerts with).
    #[command(subcommand)]
    Integration(IntegrationCmd),
    /// List a service's change events (deploys and other changes sent to /v2/change/enqueue).
    Changes {
        /// Name or id.
        service: String,
        /// At most this many (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
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
    /// Set the owning team (name or id), or clear it with --clear.
    Owner {
        /// The service (name or id).
        service: String,
        /// The team (name or id).
        #[arg(required_unless_present = "clear")]
        team: Option<String>,
        /// Clear it instead.
        #[arg(long, conflicts_with = "team")]
        clear: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set the escalation policy (name or id), or clear it with --clear.
    EscalationPolicy {
        /// The service (name or id).
        service: String,
        /// The escalation policy (name or id).
        #[arg(required_unless_present = "clear")]
        policy: Option<String>,
        /// Clear it instead.
        #[arg(long, conflicts_with = "policy")]
        clear: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set the tier, 1 (most critical) to 4, or clear it with --clear.
    Tier {
        /// The service (name or id).
        service: String,
        /// 1 (most critical) to 4.
        #[arg(required_unless_present = "clear")]
        tier: Option<u8>,
        /// Clear it instead.
        #[arg(long, conflicts_with = "tier")]
        clear: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set the service's own days to fix findings by severity (its findings opened from now on
    /// are due by them), or go back to the deployment's with --clear.
    FindingSla {
        /// The service (name or id).
        service: String,
        /// Days to fix a critical finding.
        #[arg(long, required_unless_present = "clear")]
        critical: Option<u32>,
        /// Days to fix a high finding.
        #[arg(long, required_unless_present = "clear")]
        high: Option<u32>,
        /// Days to fix a medium finding.
        #[arg(long, required_unless_present = "clear")]
        medium: Option<u32>,
        /// Days to fix a low finding.
        #[arg(long, required_unless_present = "clear")]
        low: Option<u32>,
        /// Days to fix an informational finding (default: no due date).
        #[arg(long)]
        info: Option<u32>,
        /// Use the deployment's days instead (`[findings.sla]` in palisade.toml).
        #[arg(long, conflicts_with_all = ["critical", "high", "medium", "low", "info"])]
        clear: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add or remove runbook links.
    #[command(subcommand)]
    Runbook(RunbookCmd),
    /// Add or remove maintenance windows.
    #[command(subcommand)]
    Maintenance(MaintenanceCmd),
}

#[derive(Subcommand, Debug)]
pub enum RunbookCmd {
    /// Add a runbook link (http or https).
    Add {
        /// The service (name or id).
        service: String,
        /// An http or https URL.
        url: String,
        /// What the link is, in a few words.
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a runbook link.
    Remove {
        /// The service (name or id).
        service: String,
        /// An http or https URL.
        url: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum MaintenanceCmd {
    /// Add a maintenance window (RFC 3339 times, at most 90 days) with its reason.
    Add {
        /// The service (name or id).
        service: String,
        /// RFC 3339, e.g. 2026-12-24T18:00:00+01:00.
        #[arg(long)]
        from: String,
        /// RFC 3339, after --from.
        #[arg(long)]
        to: String,
        /// Why, in a sentence.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a maintenance window by its number (as `service show` lists them).
    Remove {
        /// The service (name or id).
        service: String,
        /// Its number (as `show` lists them).
        n: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum IntegrationCmd {
    /// Add an integration and print its routing key (shown this once; it is stored only as a
    /// hash) with how to point PagerDuty clients and Alertmanager at it.
    Add {
        /// The service (name or id).
        service: String,
        /// The integration's name, e.g. prometheus.
        name: String,
        /// events_v2 (the PagerDuty Events API v2; also Alertmanager's pagerduty_configs),
        /// alertmanager_alert or alertmanager_group.
        #[arg(long, default_value = "events_v2")]
        kind: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke an integration: its routing key stops working at once.
    Revoke {
        /// The service (name or id).
        service: String,
        /// The integration (name or id).
        integration: String,
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
            if let Some(o) = &v.owner {
                outln!("  owned by team {}", o.name);
            }
            if let Some(t) = v.tier {
                outln!("  tier {t}");
            }
            if let Some(p) = &v.escalation_policy {
                outln!("  escalation policy {}", p.name);
            }
            for r in &v.runbooks {
                match &r.title {
                    Some(t) => outln!("  runbook {} ({t})", r.url),
                    None => outln!("  runbook {}", r.url),
                }
            }
            for m in &v.maintenance {
                outln!(
                    "  maintenance {}: {} to {}, {} (by {})",
                    m.n,
                    m.from,
                    m.to,
                    m.reason,
                    m.added_by
                );
            }
            for i in &v.integrations {
                let state = match &i.revoked_at {
                    Some(t) => format!("revoked at {t}"),
                    None => "active".to_string(),
                };
                outln!(
                    "  integration {} ({}, {}) added by {} at {}; {state}",
                    i.name,
                    i.kind,
                    i.id,
                    i.added_by,
                    i.added_at
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
        }
    }
}

/// Post `body` to the service's `sub`-resource and print the service.
async fn change(
    client: &ClientArgs,
    service: &str,
    sub: &str,
    body: serde_json::Value,
) -> anyhow::Result<Outcome> {
    let c = Client::new(client)?;
    let v: ServiceView = c
        .post(&format!("/api/v1/services/{}/{sub}", seg(service)), &body)
        .await?;
    print_service(&v, client.format);
    Ok(Outcome::Ok)
}

pub async fn run(cmd: ServiceCmd) -> anyhow::Result<Outcome> {
    match cmd {
        ServiceCmd::Owner {
            service,
            team,
            clear: _,
            client,
        } => return change(&client, &service, "owner", json!({"team": team})).await,
        ServiceCmd::EscalationPolicy {
            service,
            policy,
            clear: _,
            client,
        } => {
            return change(
                &client,
                &service,
                "escalation-policy",
                json!({"policy": policy}),
            )
            .await;
        }
        ServiceCmd::Tier {
            service,
            tier,
            clear: _,
            client,
        } => return change(&client, &service, "tier", json!({"tier": tier})).await,
        ServiceCmd::FindingSla {
            service,
            critical,
            high,
            medium,
            low,
            info,
            clear,
            client,
        } => {
            let sla = (!clear).then(|| {
                json!({"critical": critical, "high": high, "medium": medium, "low": low, "info": info})
            });
            return change(&client, &service, "finding-sla", json!({"sla": sla})).await;
        }
        ServiceCmd::Runbook(RunbookCmd::Add {
            service,
            url,
            title,
            client,
        }) => {
            return change(
                &client,
                &service,
                "runbooks",
                json!({"url": url, "title": title}),
            )
            .await;
        }
        ServiceCmd::Runbook(RunbookCmd::Remove {
            service,
            url,
            client,
        }) => return change(&client, &service, "runbooks/remove", json!({"url": url})).await,
        ServiceCmd::Maintenance(MaintenanceCmd::Add {
            service,
            from,
            to,
            reason,
            client,
        }) => {
            return change(
                &client,
                &service,
                "maintenance",
                json!({"from": from, "to": to, "reason": reason}),
            )
            .await;
        }
        ServiceCmd::Maintenance(MaintenanceCmd::Remove { service, n, client }) => {
            return change(&client, &service, "maintenance/remove", json!({"n": n})).await;
        }
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
        ServiceCmd::Integration(IntegrationCmd::Add {
            service,
            name,
            kind,
            client,
        }) => {
            let c = Client::new(&client)?;
            let v: IntegrationCreated = c
                .post(
                    &format!("/api/v1/services/{}/integrations", seg(&service)),
                    &json!({"name": name, "kind": kind}),
                )
                .await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => {
                    let base = c.base().trim_end_matches('/');
                    outln!("Integration {} ({}) added to {service}.", v.name, v.kind);
                    outln!("Routing key (shown this once; it is stored only as a hash):");
                    outln!();
                    outln!("  {}", v.routing_key);
                    outln!();
                    if v.kind == "events_v2" {
                        outln!(
                            "PagerDuty Events API v2 clients: base URL {base} (events go to {base}/v2/enqueue)."
                        );
                        outln!("Alertmanager:");
                        outln!("  receivers:");
                        outln!("    - name: palisade");
                        outln!("      pagerduty_configs:");
                        outln!("        - routing_key: {}", v.routing_key);
                        outln!("          url: {base}/v2/enqueue");
                    } else {
                        outln!(
                            "Alertmanager webhook_configs url: {base}/v1/alertmanager/{}",
                            v.routing_key
                        );
                    }
                }
            }
        }
        ServiceCmd::Integration(IntegrationCmd::Revoke {
            service,
            integration,
            client,
        }) => {
            let c = Client::new(&client)?;
            c.delete(&format!(
                "/api/v1/services/{}/integrations/{}",
                seg(&service),
                seg(&integration)
            ))
            .await?;
            if client.format == Format::Table {
                outln!(
                    "Integration {integration} of {service} revoked; its routing key no longer works."
                );
            } else {
                outln!(
                    "{}",
                    json(&json!({"revoked": integration, "service": service}))
                );
            }
        }
        ServiceCmd::Changes {
            service,
            limit,
            client,
        } => {
            let c = Client::new(&client)?;
            let list: ChangeList = c
                .get(&format!(
                    "/api/v1/services/{}/changes?limit={limit}",
                    seg(&service)
                ))
                .await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .changes
                        .iter()
                        .map(|ch| {
                            vec![
                                ch.recorded_at.clone(),
                                ch.timestamp.clone().unwrap_or_default(),
                                ch.source.clone().unwrap_or_default(),
                                ch.summary.clone(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(&["RECORDED", "HAPPENED", "SOURCE", "SUMMARY"], &rows)
                    );
                }
            }
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
