//! `palisade incident …` and `palisade token …`: thin clients of the HTTP API.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::routes::incidents::IncidentChangesView;
use palisade_server::views::{IncidentList, IncidentView, LedgerView};
use serde_json::{Value, json};

#[derive(Subcommand, Debug)]
pub enum IncidentCmd {
    /// Declare an incident. Anyone may; when unsure whether it is a security incident, declare it
    /// as one (the default kind). Security incidents get a codename and are visible only to members.
    Declare {
        /// Short, factual title.
        #[arg(long)]
        title: String,
        /// SEV-1 (most urgent) … SEV-5. When unsure, pick the higher.
        #[arg(long)]
        severity: String,
        /// security or operational.
        #[arg(long, default_value = "security")]
        kind: String,
        /// Make the incident visible to every user (default for operational incidents only).
        #[arg(long, conflicts_with = "restricted")]
        open: bool,
        /// Restrict the incident to its members (default for security incidents).
        #[arg(long)]
        restricted: bool,
        /// What is known so far, in a few sentences.
        #[arg(long)]
        summary: Option<String>,
        /// Playbook id (default: the built-in playbook of the kind).
        #[arg(long)]
        playbook: Option<String>,
        /// Make this user Incident Commander right away.
        #[arg(long)]
        commander: Option<String>,
        /// When it began (RFC 3339, e.g. 2026-11-26T02:40:00+01:00). Default: now.
        #[arg(long)]
        occurred_at: Option<String>,
        /// Print only the codename, for scripts: INCIDENT=$(palisade incident declare … -q)
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List the incidents you can see, newest activity first.
    List {
        /// Only incidents in this status: declared, investigating, contained, resolved or closed.
        #[arg(long)]
        status: Option<String>,
        /// Only this severity: SEV-1 … SEV-5.
        #[arg(long)]
        severity: Option<String>,
        /// Only security or operational incidents.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many (default 100, at most 1000).
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show an incident: status, roles, the playbook's steps and the timeline.
    Show {
        /// Codename or id.
        incident: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Export a signed bundle (tar): the ledger, its signed checkpoints, the public key, the
    /// evidence manifest and optionally the evidence. Anyone can verify it offline with
    /// `palisade verify FILE`. The export is recorded in the ledger (and so in the bundle).
    Export(crate::evidence_cmd::ExportArgs),
    /// Admins: open a restricted incident you are not a member of, for a limited time, with a
    /// written reason. Recorded in its ledger; its Incident Commander is notified.
    BreakGlass(crate::evidence_cmd::BreakGlassArgs),
    /// Show the raw ledger of an incident: every event with its chain hashes.
    Events {
        /// Incident codename or id.
        incident: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// What changed around an incident: the change events (deploys, configuration changes) of
    /// the service whose alert it was declared from, from four hours before the declaration
    /// until it closed. Send them with `POST /v2/change/enqueue` (PagerDuty's change events).
    Changes {
        /// Incident codename or id.
        incident: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Assign or unassign a role (incident_commander/ic, deputy, scribe, sme, internal_liaison,
    /// customer_liaison, legal). Once there is an IC, only the IC assigns roles.
    Role {
        /// assign or unassign
        #[arg(value_parser = ["assign", "unassign"])]
        action: String,
        /// Incident codename or id.
        incident: String,
        /// The user who gets or loses the role.
        user: String,
        /// incident_commander (ic), deputy, scribe, subject_matter_expert (sme), internal_liaison, customer_liaison or legal.
        role: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Start, complete or waive a playbook step. Waiving is the IC's decision and needs a reason.
    Step {
        /// start, done or waive.
        #[arg(value_parser = ["start", "done", "waive"])]
        action: String,
        /// Incident codename or id.
        incident: String,
        /// Step number in the incident's playbook (1–14 in the security playbook).
        step: u32,
        /// Note recorded with `done`.
        #[arg(long)]
        note: Option<String>,
        /// Reason, required with `waive`.
        #[arg(long)]
        reason: Option<String>,
        /// When it happened (RFC 3339). Default: now.
        #[arg(long)]
        occurred_at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a note to the timeline.
    Note {
        /// Incident codename or id.
        incident: String,
        /// What to record.
        text: String,
        /// When it happened (RFC 3339, e.g. 2026-11-26T02:40:00+01:00); default: now.
        #[arg(long)]
        occurred_at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Post a status update: a message, a lifecycle change (investigating, contained), or both.
    /// Internal updates reset the update cadence (`palisade incident comms` shows when the next is
    /// due); `--audience external` posts a message for customers, checked against the phrases to avoid.
    Update {
        /// Incident codename or id.
        incident: String,
        /// A lifecycle change: investigating or contained.
        #[arg(long)]
        status: Option<String>,
        /// The update's text.
        #[arg(long)]
        message: Option<String>,
        /// internal (default) or external.
        #[arg(long)]
        audience: Option<String>,
        /// When it happened (RFC 3339, e.g. 2026-11-26T02:40:00+01:00); default: now.
        #[arg(long)]
        occurred_at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change the severity.
    Severity {
        /// Incident codename or id.
        incident: String,
        /// The new severity: SEV-1 (most urgent) … SEV-5.
        severity: String,
        /// Why (recorded in the ledger).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Give an approval the playbook requires (the IC approves external communication).
    Approve {
        /// Incident codename or id.
        incident: String,
        /// Which approval (the playbook names them; default: external-communication).
        #[arg(default_value = "external-communication")]
        approval: String,
        /// A note recorded with it.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Resolve (IC only; the playbook's resolve prerequisites must be done or waived).
    Resolve {
        /// Incident codename or id.
        incident: String,
        /// What happened and how it was resolved (required).
        #[arg(long)]
        summary: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Close a resolved incident (IC only). Afterwards only corrections can be recorded.
    Close {
        /// Incident codename or id.
        incident: String,
        /// A note recorded with it.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Record a correction of an earlier event; the original stays in the record.
    Correct {
        /// Incident codename or id.
        incident: String,
        /// Sequence number of the event to correct (see `palisade incident show`).
        seq: u64,
        /// Why (recorded in the ledger).
        #[arg(long)]
        reason: String,
        /// The corrected time it happened (RFC 3339).
        #[arg(long)]
        occurred_at: Option<String>,
        /// The corrected text.
        #[arg(long)]
        text: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    #[command(flatten)]
    Comms(crate::comms_cmd::CommsCmd),
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create a token for a user (created with --role if new). The token is printed once.
    Create {
        /// The user the token is for.
        #[arg(long)]
        user: String,
        /// admin, responder or viewer (for a new user).
        #[arg(long)]
        role: Option<String>,
        /// A note on what the token is for (a laptop, a CI job).
        #[arg(long)]
        label: Option<String>,
        /// Print only the token, for scripts: TOKEN=$(palisade token create … -q)
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List tokens (ids, users, roles; never the secrets).
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke a token by id (tok_…).
    Revoke {
        /// Token id (`tok_…`, from `palisade token list`).
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a one-time link for a user to set a web UI password (admins only; the user is
    /// created with --role if new). The link works once, for 72 hours, and is printed once;
    /// using it ends the user's web sessions.
    PasswordLink {
        /// The user who sets a password.
        #[arg(long)]
        user: String,
        /// admin, responder or viewer (for a new user).
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show who the current token belongs to.
    Whoami {
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn inc(r: &str) -> String {
    format!("/api/v1/incidents/{}", seg(r))
}

async fn command(client: &ClientArgs, path: String, body: Value) -> anyhow::Result<Outcome> {
    let c = Client::new(client)?;
    let view: IncidentView = c.post(&path, &body).await?;
    print_incident(&view, client.format);
    Ok(Outcome::Ok)
}

pub async fn run(cmd: IncidentCmd) -> anyhow::Result<Outcome> {
    match cmd {
        IncidentCmd::Declare {
            title,
            severity,
            kind,
            open,
            restricted,
            summary,
            playbook,
            commander,
            occurred_at,
            quiet,
            client,
        } => {
            let restricted = if open {
                Some(false)
            } else if restricted {
                Some(true)
            } else {
                None
            };
            let body = json!({
                "title": title, "severity": severity, "kind": kind, "restricted": restricted,
                "summary": summary, "playbook": playbook, "commander": commander, "occurred_at": occurred_at,
            });
            if quiet {
                let c = Client::new(&client)?;
                let view: IncidentView = c.post("/api/v1/incidents", &body).await?;
                outln!("{}", view.codename);
                return Ok(Outcome::Ok);
            }
            command(&client, "/api/v1/incidents".into(), body).await
        }
        IncidentCmd::List {
            status,
            severity,
            kind,
            limit,
            client,
        } => {
            let c = Client::new(&client)?;
            let mut q = Vec::new();
            for (k, v) in [
                ("status", status),
                ("severity", severity),
                ("kind", kind),
                ("limit", limit.map(|l| l.to_string())),
            ] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", seg(&v)));
                }
            }
            let path = if q.is_empty() {
                "/api/v1/incidents".to_string()
            } else {
                format!("/api/v1/incidents?{}", q.join("&"))
            };
            let list: IncidentList = c.get(&path).await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    if list.incidents.is_empty() {
                        outln!("No incidents you can see.");
                    } else {
                        let rows: Vec<Vec<String>> = list
                            .incidents
                            .iter()
                            .map(|i| {
                                vec![
                                    i.codename.clone(),
                                    i.severity.clone(),
                                    i.status.clone(),
                                    i.kind.clone(),
                                    i.commander.clone().unwrap_or_else(|| "-".into()),
                                    i.updated_at.clone(),
                                    i.title.clone(),
                                ]
                            })
                            .collect();
                        out!(
                            "{}",
                            table(
                                &[
                                    "CODENAME", "SEV", "STATUS", "KIND", "IC", "UPDATED", "TITLE"
                                ],
                                &rows
                            )
                        );
                    }
                }
            }
            Ok(Outcome::Ok)
        }
        IncidentCmd::Show { incident, client } => {
            let c = Client::new(&client)?;
            let view = show_whole(&c, &incident).await?;
            print_incident(&view, client.format);
            Ok(Outcome::Ok)
        }
        IncidentCmd::Export(args) => crate::evidence_cmd::export(args).await,
        IncidentCmd::BreakGlass(args) => crate::evidence_cmd::break_glass(args).await,
        IncidentCmd::Changes { incident, client } => {
            let c = Client::new(&client)?;
            let v: IncidentChangesView = c.get(&format!("{}/changes", inc(&incident))).await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => match &v.service {
                    None => outln!(
                        "{incident} was not declared from an alert, so no service's changes go with it"
                    ),
                    Some(service) => {
                        outln!(
                            "changes to {service} from {} to {}",
                            v.from, v.to
                        );
                        let rows: Vec<Vec<String>> = v
                            .changes
                            .iter()
                            .map(|c| {
                                vec![
                                    c.recorded_at.clone(),
                                    c.summary.clone(),
                                    c.source.clone().unwrap_or_default(),
                                ]
                            })
                            .collect();
                        out!("{}", table(&["RECORDED", "CHANGE", "SOURCE"], &rows));
                    }
                },
            }
            Ok(Outcome::Ok)
        }
        IncidentCmd::Events { incident, client } => {
            let c = Client::new(&client)?;
            let ledger: LedgerView = c.get(&format!("{}/events", inc(&incident))).await?;
            match client.format {
                Format::Json => outln!("{}", json(&ledger)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = ledger
                        .events
                        .iter()
                        .map(|e| {
                            vec![
                                e.seq.to_string(),
                                e.event["data"]["type"].as_str().unwrap_or("?").to_string(),
                                e.event["actor"].as_str().unwrap_or("?").to_string(),
                                e.event["recorded_at"].as_str().unwrap_or("?").to_string(),
                                e.hash[..16].to_string(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(&["SEQ", "TYPE", "ACTOR", "RECORDED", "HASH"], &rows)
                    );
                }
            }
            Ok(Outcome::Ok)
        }
        IncidentCmd::Role {
            action,
            incident,
            user,
            role,
            client,
        } => {
            let path = if action == "assign" {
                format!("{}/roles", inc(&incident))
            } else {
                format!("{}/roles/unassign", inc(&incident))
            };
            command(&client, path, json!({"user": user, "role": role})).await
        }
        IncidentCmd::Step {
            action,
            incident,
            step,
            note,
            reason,
            occurred_at,
            client,
        } => {
            let path = format!("{}/steps/{step}/{action}", inc(&incident));
            command(
                &client,
                path,
                json!({"note": note, "reason": reason, "occurred_at": occurred_at}),
            )
            .await
        }
        IncidentCmd::Note {
            incident,
            text,
            occurred_at,
            client,
        } => {
            command(
                &client,
                format!("{}/notes", inc(&incident)),
                json!({"text": text, "occurred_at": occurred_at}),
            )
            .await
        }
        IncidentCmd::Update {
            incident,
            status,
            message,
            audience,
            occurred_at,
            client,
        } => {
            command(
                &client,
                format!("{}/status", inc(&incident)),
                json!({"status": status, "message": message, "audience": audience, "occurred_at": occurred_at}),
            )
            .await
        }
        IncidentCmd::Severity {
            incident,
            severity,
            reason,
            client,
        } => {
            command(
                &client,
                format!("{}/severity", inc(&incident)),
                json!({"severity": severity, "reason": reason}),
            )
            .await
        }
        IncidentCmd::Approve {
            incident,
            approval,
            note,
            client,
        } => {
            command(
                &client,
                format!("{}/approvals", inc(&incident)),
                json!({"approval": approval, "note": note}),
            )
            .await
        }
        IncidentCmd::Resolve {
            incident,
            summary,
            client,
        } => {
            command(
                &client,
                format!("{}/resolve", inc(&incident)),
                json!({"summary": summary}),
            )
            .await
        }
        IncidentCmd::Close {
            incident,
            note,
            client,
        } => {
            command(
                &client,
                format!("{}/close", inc(&incident)),
                json!({"note": note}),
            )
            .await
        }
        IncidentCmd::Correct {
            incident,
            seq,
            reason,
            occurred_at,
            text,
            client,
        } => command(
            &client,
            format!("{}/corrections", inc(&incident)),
            json!({"supersedes": seq, "reason": reason, "occurred_at": occurred_at, "text": text}),
        )
        .await,
        IncidentCmd::Comms(c) => crate::comms_cmd::run(c).await,
    }
}

fn print_incident(v: &IncidentView, format: Format) {
    if format == Format::Json {
        outln!("{}", json(v));
        return;
    }
    outln!("{}  {}  {}  {}", v.codename, v.severity, v.status, v.title);
    outln!(
        "  id {}  kind {}  {}  declared {} by {}",
        v.id,
        v.kind,
        if v.restricted {
            "restricted to members"
        } else {
            "open"
        },
        v.declared_at,
        v.declared_by
    );
    outln!(
        "  playbook {} v{}  commander {}",
        v.playbook.id,
        v.playbook.version,
        v.commander
            .as_deref()
            .unwrap_or("NONE — assign one: palisade incident role assign <incident> <user> ic")
    );
    if let Some(r) = &v.resolution {
        outln!("  resolution: {r}");
    }
    crate::comms_cmd::print_flags(v);
    outln!();
    let members: Vec<Vec<String>> = v
        .members
        .iter()
        .map(|m| {
            vec![
                m.user.clone(),
                if m.roles.is_empty() {
                    "member".into()
                } else {
                    m.roles.join(", ")
                },
            ]
        })
        .collect();
    out!("{}", table(&["MEMBER", "ROLES"], &members));
    outln!();
    let steps: Vec<Vec<String>> = v
        .steps
        .iter()
        .map(|s| {
            let mut rule = Vec::new();
            if !s.requires.is_empty() {
                rule.push(format!("after {:?}", s.requires));
            }
            if !s.requires_done.is_empty() {
                rule.push(format!("after done {:?}", s.requires_done));
            }
            if !s.requires_approval.is_empty() {
                rule.push(format!("needs {}", s.requires_approval.join(", ")));
            }
            vec![
                s.n.to_string(),
                s.status.clone(),
                s.settled_by
                    .clone()
                    .or(s.started_by.clone())
                    .unwrap_or_default(),
                s.waiver_reason
                    .clone()
                    .map(|r| format!("waived: {r}"))
                    .unwrap_or_else(|| rule.join("; ")),
                s.title.clone(),
            ]
        })
        .collect();
    out!(
        "{}",
        table(&["STEP", "STATE", "BY", "RULE / WAIVER", "TITLE"], &steps)
    );
    outln!();
    if let Some(timeline) = &v.timeline {
        out!("{}", timeline_table(timeline));
    }
    if let Some(added) = &v.appended {
        outln!("Recorded:");
        out!("{}", timeline_table(added));
    }
}

/// An incident with its whole timeline: every page, merged and ordered by occurrence.
pub async fn show_whole(c: &Client, incident: &str) -> anyhow::Result<IncidentView> {
    let mut view: IncidentView = c.get(&format!("{}?limit=10000", inc(incident))).await?;
    let mut timeline = view.timeline.take().unwrap_or_default();
    while let Some(after) = view.timeline_next_after {
        let mut next: IncidentView = c
            .get(&format!("{}?after={after}&limit=10000", inc(incident)))
            .await?;
        timeline.extend(next.timeline.take().unwrap_or_default());
        view = next;
    }
    timeline.sort_by_key(|t| {
        (
            palisade_core::Timestamp::parse(&t.effective_occurred_at).ok(),
            t.seq,
        )
    });
    view.timeline = Some(timeline);
    Ok(view)
}

fn timeline_table(entries: &[palisade_server::views::TimelineView]) -> String {
    let timeline: Vec<Vec<String>> = entries
        .iter()
        .map(|t| {
            let mut d = t.description.clone();
            for c in &t.corrections {
                d.push_str(&format!(
                    " [corrected in #{} by {}: {}",
                    c.seq, c.by, c.reason
                ));
                if let Some(x) = &c.text {
                    d.push_str(&format!("; now: {x}"));
                }
                if let Some(x) = &c.occurred_at {
                    d.push_str(&format!("; happened at {x}"));
                }
                d.push(']');
            }
            vec![
                t.seq.to_string(),
                t.effective_occurred_at.clone(),
                t.actor.clone(),
                d,
            ]
        })
        .collect();
    table(&["#", "OCCURRED", "BY", "EVENT"], &timeline)
}

pub async fn run_token(cmd: TokenCmd) -> anyhow::Result<Outcome> {
    match cmd {
        TokenCmd::Create {
            user,
            role,
            label,
            quiet,
            client,
        } => {
            let c = Client::new(&client)?;
            let created: Value = c
                .post(
                    "/api/v1/tokens",
                    &json!({"user": user, "role": role, "label": label}),
                )
                .await?;
            match client.format {
                _ if quiet => outln!("{}", created["token"].as_str().unwrap_or_default()),
                Format::Json => outln!("{}", json(&created)),
                Format::Table => {
                    outln!(
                        "Token {} for {} ({}). It is shown only this once:",
                        created["id"].as_str().unwrap_or("?"),
                        created["user"].as_str().unwrap_or("?"),
                        created["role"].as_str().unwrap_or("?")
                    );
                    outln!("{}", created["token"].as_str().unwrap_or("?"));
                }
            }
            Ok(Outcome::Ok)
        }
        TokenCmd::List { client } => {
            let c = Client::new(&client)?;
            let tokens: Vec<Value> = c.get("/api/v1/tokens").await?;
            match client.format {
                Format::Json => outln!("{}", json(&tokens)),
                Format::Table => {
                    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
                    let rows: Vec<Vec<String>> = tokens
                        .iter()
                        .map(|t| {
                            vec![
                                s(&t["id"]),
                                s(&t["user"]),
                                s(&t["role"]),
                                s(&t["label"]),
                                s(&t["created_at"]),
                                s(&t["revoked_at"]),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(
                            &["ID", "USER", "ROLE", "LABEL", "CREATED", "REVOKED"],
                            &rows
                        )
                    );
                }
            }
            Ok(Outcome::Ok)
        }
        TokenCmd::Revoke { id, client } => {
            let c = Client::new(&client)?;
            c.delete(&format!("/api/v1/tokens/{}", seg(&id))).await?;
            if client.format == Format::Json {
                outln!("{}", json(&json!({"revoked": id})));
            } else {
                outln!("Revoked {id}.");
            }
            Ok(Outcome::Ok)
        }
        TokenCmd::PasswordLink { user, role, client } => {
            let c = Client::new(&client)?;
            let link: Value = c
                .post(
                    "/api/v1/password-links",
                    &json!({"user": user, "role": role}),
                )
                .await?;
            let url = format!(
                "{}{}",
                c.base().trim_end_matches('/'),
                link["path"].as_str().unwrap_or("?")
            );
            match client.format {
                Format::Json => outln!(
                    "{}",
                    json(
                        &json!({"user": link["user"], "url": url, "expires_at": link["expires_at"]})
                    )
                ),
                Format::Table => {
                    outln!(
                        "Send this link to {}. It works once, until {}, and is shown only now:",
                        link["user"].as_str().unwrap_or("?"),
                        link["expires_at"].as_str().unwrap_or("?")
                    );
                    outln!("{url}");
                }
            }
            Ok(Outcome::Ok)
        }
        TokenCmd::Whoami { client } => {
            let c = Client::new(&client)?;
            let me: Value = c.get("/api/v1/me").await?;
            match client.format {
                Format::Json => outln!("{}", json(&me)),
                Format::Table => outln!(
                    "{} ({}), token {}",
                    me["user"].as_str().unwrap_or("?"),
                    me["role"].as_str().unwrap_or("?"),
                    me["token_id"].as_str().unwrap_or("?")
                ),
            }
            Ok(Outcome::Ok)
        }
    }
}
