//! `palisade incident comms | aware | deadline-met | statement … | postmortem | postmortem-status |
//! action …`: thin clients of the communications and postmortem endpoints.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use palisade_core::comms::{CadenceStatus, CommsStatus, human_duration};
use palisade_core::postmortem::PostmortemSummary;
use palisade_server::routes::comms::{CommunicationsView, PostmortemView};
use palisade_server::views::IncidentView;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum CommsCmd {
    /// Show an incident's communications: when the next internal (and external) update is due or
    /// overdue, the notification deadlines with the time left, and the external statements.
    Comms {
        /// Codename or id.
        incident: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Record when the organisation became aware of the incident. The notification deadlines of
    /// the server's policy (default: GDPR Art. 33, 72 hours) run from this time and are recorded
    /// with it. Recording a different time later needs --note saying why.
    Aware {
        /// Incident codename or id.
        incident: String,
        /// When (RFC 3339 with offset, e.g. 2026-11-26T02:40:00+01:00).
        #[arg(long)]
        at: String,
        /// A note recorded with it.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Mark a notification deadline met (the authority or the people affected were notified).
    #[command(name = "deadline-met")]
    DeadlineMet {
        /// Incident codename or id.
        incident: String,
        /// The deadline's name as `palisade incident comms` shows it.
        name: String,
        /// E.g. the authority's reference number.
        #[arg(long)]
        note: Option<String>,
        /// When it was met (RFC 3339). Default: now.
        #[arg(long)]
        occurred_at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// External statements: draft and revise, the Incident Commander approves an exact revision,
    /// then publish (the title gets the publication date, e.g. "2026-11-26: …").
    #[command(subcommand)]
    Statement(StatementCmd),
    /// Write the postmortem draft from the ledger: overview, metrics (time to acknowledge,
    /// contain, resolve), timeline with occurred and recorded times, every playbook step with who
    /// and when, roles, communications and action items.
    ///
    /// Markdown goes to stdout unless -o FILE is given; --format json gives the same as data.
    Postmortem {
        /// Incident codename or id.
        incident: String,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Output: `markdown` (default) or `json`.
        #[arg(long, value_enum, default_value_t = PostmortemFormat::Markdown)]
        format: PostmortemFormat,
        /// Server URL [default: http://127.0.0.1:7878]
        #[arg(long, env = "PALISADE_URL")]
        url: Option<String>,
        /// API token (pal_…).
        #[arg(long, env = "PALISADE_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Move the postmortem forward one status: draft → in_review → reviewed → closed. It starts
    /// as a draft when the incident is resolved; reviewed and closed are the IC's decisions.
    #[command(name = "postmortem-status")]
    PostmortemStatus {
        /// Incident codename or id.
        incident: String,
        /// in_review, reviewed or closed.
        status: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Postmortem action items: add them with an owner (and a due date), mark them done.
    #[command(subcommand)]
    Action(ActionCmd),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PostmortemFormat {
    /// The draft document.
    Markdown,
    /// The report as data, with the document in `markdown`.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum StatementCmd {
    /// Draft a new statement. Drafts are checked against the phrases to avoid; the IC cannot
    /// approve one that contains any.
    Draft {
        /// Incident codename or id.
        incident: String,
        #[command(flatten)]
        text: StatementText,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revise a statement (a new revision; an earlier approval does not carry over).
    Revise {
        /// Incident codename or id.
        incident: String,
        /// Statement number (S1 is 1; `palisade incident comms` lists them).
        statement: u32,
        #[command(flatten)]
        text: StatementText,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Approve a statement's latest revision (Incident Commander only).
    Approve {
        /// Incident codename or id.
        incident: String,
        /// Statement number (S1 is 1; `palisade incident comms` lists them).
        statement: u32,
        /// The revision you read; refused if the draft has moved on since.
        #[arg(long)]
        revision: Option<u32>,
        /// A note recorded with it.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Record that the approved statement was published. Its title gets the date in front.
    Publish {
        /// Incident codename or id.
        incident: String,
        /// Statement number (S1 is 1; `palisade incident comms` lists them).
        statement: u32,
        /// Publication date (YYYY-MM-DD). Default: today (UTC), or the date of --occurred-at.
        #[arg(long)]
        date: Option<String>,
        /// When it happened (RFC 3339, e.g. 2026-11-26T02:40:00+01:00); default: now.
        #[arg(long)]
        occurred_at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct StatementText {
    /// The title (without the date; it is added when published).
    #[arg(long)]
    title: String,
    /// The text.
    #[arg(
        long,
        required_unless_present = "body_file",
        conflicts_with = "body_file"
    )]
    body: Option<String>,
    /// Read the text from a file ("-" for stdin).
    #[arg(long)]
    body_file: Option<PathBuf>,
}

impl StatementText {
    fn body(&self) -> anyhow::Result<String> {
        match (&self.body, &self.body_file) {
            (Some(b), _) => Ok(b.clone()),
            (None, Some(p)) if p.as_os_str() == "-" => {
                std::io::read_to_string(std::io::stdin()).context("reading the text from stdin")
            }
            (None, Some(p)) => {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            }
            (None, None) => anyhow::bail!("give --body or --body-file"),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ActionCmd {
    /// Add an action item with an owner.
    Add {
        /// Incident codename or id.
        incident: String,
        /// A short title.
        #[arg(long)]
        title: String,
        /// The user who owns it.
        #[arg(long)]
        owner: String,
        /// Due date (YYYY-MM-DD).
        #[arg(long)]
        due: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Mark an action item done.
    Done {
        /// Incident codename or id.
        incident: String,
        /// Action item number (1 for the first one added, and so on; the postmortem lists them).
        item: u32,
        /// A note recorded with it.
        #[arg(long)]
        note: Option<String>,
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
    match client.format {
        Format::Json => outln!("{}", json(&view)),
        Format::Table => {
            outln!(
                "{}  {}  {}  {}",
                view.codename,
                view.severity,
                view.status,
                view.title
            );
            print_flags(&view);
        }
    }
    Ok(Outcome::Ok)
}

pub async fn run(cmd: CommsCmd) -> anyhow::Result<Outcome> {
    match cmd {
        CommsCmd::Comms { incident, client } => {
            let c = Client::new(&client)?;
            let v: CommunicationsView =
                c.get(&format!("{}/communications", inc(&incident))).await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => print_comms(&v),
            }
            Ok(Outcome::Ok)
        }
        CommsCmd::Aware {
            incident,
            at,
            note,
            client,
        } => {
            command(
                &client,
                format!("{}/awareness", inc(&incident)),
                json!({"aware_at": at, "note": note}),
            )
            .await
        }
        CommsCmd::DeadlineMet {
            incident,
            name,
            note,
            occurred_at,
            client,
        } => {
            command(
                &client,
                format!("{}/deadlines/met", inc(&incident)),
                json!({"name": name, "note": note, "occurred_at": occurred_at}),
            )
            .await
        }
        CommsCmd::Statement(s) => match s {
            StatementCmd::Draft {
                incident,
                text,
                client,
            } => {
                let body = json!({"title": text.title, "body": text.body()?});
                command(&client, format!("{}/statements", inc(&incident)), body).await
            }
            StatementCmd::Revise {
                incident,
                statement,
                text,
                client,
            } => {
                let body = json!({"title": text.title, "body": text.body()?});
                let path = format!("{}/statements/{statement}/revise", inc(&incident));
                command(&client, path, body).await
            }
            StatementCmd::Approve {
                incident,
                statement,
                revision,
                note,
                client,
            } => {
                let path = format!("{}/statements/{statement}/approve", inc(&incident));
                command(&client, path, json!({"revision": revision, "note": note})).await
            }
            StatementCmd::Publish {
                incident,
                statement,
                date,
                occurred_at,
                client,
            } => {
                let path = format!("{}/statements/{statement}/publish", inc(&incident));
                command(
                    &client,
                    path,
                    json!({"date": date, "occurred_at": occurred_at}),
                )
                .await
            }
        },
        CommsCmd::Postmortem {
            incident,
            output,
            format,
            url,
            token,
        } => {
            let client = ClientArgs {
                url,
                token,
                format: Format::Json,
            };
            let c = Client::new(&client)?;
            let v: PostmortemView = c.get(&format!("{}/postmortem", inc(&incident))).await?;
            let text = match format {
                PostmortemFormat::Markdown => v.markdown.clone(),
                PostmortemFormat::Json => format!("{}\n", json(&v)),
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, &text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "Wrote the postmortem draft of {} to {} (postmortem {}).",
                        v.report.codename,
                        path.display(),
                        v.report
                            .postmortem
                            .status
                            .map_or("not started".to_string(), |s| s.to_string())
                    );
                }
                None => out!("{text}"),
            }
            Ok(Outcome::Ok)
        }
        CommsCmd::PostmortemStatus {
            incident,
            status,
            client,
        } => {
            command(
                &client,
                format!("{}/postmortem/status", inc(&incident)),
                json!({"status": status}),
            )
            .await
        }
        CommsCmd::Action(a) => match a {
            ActionCmd::Add {
                incident,
                title,
                owner,
                due,
                client,
            } => {
                command(
                    &client,
                    format!("{}/action-items", inc(&incident)),
                    json!({"title": title, "owner": owner, "due": due}),
                )
                .await
            }
            ActionCmd::Done {
                incident,
                item,
                note,
                client,
            } => {
                command(
                    &client,
                    format!("{}/action-items/{item}/done", inc(&incident)),
                    json!({"note": note}),
                )
                .await
            }
        },
    }
}

fn cadence_line(c: &CadenceStatus) -> String {
    let last = c
        .last_update
        .map_or_else(|| "none yet".to_string(), |t| t.to_string());
    match (c.every_minutes, c.next_due, c.seconds_remaining) {
        (Some(m), Some(due), Some(s)) if s < 0 => format!(
            "every {m}m; last {last}; OVERDUE since {due} ({} ago)",
            human_duration(-s)
        ),
        (Some(m), Some(due), Some(s)) => {
            format!(
                "every {m}m; last {last}; next due {due} (in {})",
                human_duration(s)
            )
        }
        (Some(m), _, _) => format!("every {m}m while open; last {last}"),
        (None, _, _) => format!("no cadence at this severity; last {last}"),
    }
}

fn deadline_lines(s: &CommsStatus) -> Vec<String> {
    let mut out = Vec::new();
    if s.aware_at.is_none() && !s.pending_deadlines.is_empty() {
        let names: Vec<String> = s
            .pending_deadlines
            .iter()
            .map(|d| format!("{} ({} h)", d.name, d.hours))
            .collect();
        out.push(format!(
            "awareness not recorded; deadlines that will run from it: {} (record it: palisade incident aware INCIDENT --at TIME)",
            names.join(", ")
        ));
    }
    for d in &s.deadlines {
        let state = match (&d.met, d.seconds_remaining) {
            (Some(m), _) if d.met_late => format!("met LATE at {} by {}", m.at, m.by),
            (Some(m), _) => format!("met at {} by {}", m.at, m.by),
            (None, Some(r)) if r < 0 => format!("OVERDUE by {}", human_duration(-r)),
            (None, Some(r)) => format!("{} left", human_duration(r)),
            (None, None) => String::new(),
        };
        out.push(format!("deadline {}: due {} — {state}", d.name, d.due));
    }
    out
}

fn postmortem_line(p: &PostmortemSummary) -> Option<String> {
    let status = p.status?;
    let mut l = format!("postmortem {status}");
    match (p.due, p.seconds_remaining) {
        (Some(d), Some(s)) if s < 0 => {
            l.push_str(&format!(", due {d}: OVERDUE by {}", human_duration(-s)))
        }
        (Some(d), Some(s)) => l.push_str(&format!(", due {d} ({} left)", human_duration(s))),
        (Some(d), None) => l.push_str(&format!(", was due {d}")),
        (None, _) => l.push_str(" (no due date below SEV-2)"),
    }
    l.push_str(&format!(
        "; action items: {} open, {} done",
        p.action_items_open, p.action_items_done
    ));
    Some(l)
}

/// The time-dependent flags of an incident, for `incident show` and command output.
pub fn print_flags(v: &IncidentView) {
    if let Some(c) = &v.communications {
        outln!("  internal updates: {}", cadence_line(&c.internal));
        if c.external.every_minutes.is_some() || c.external.last_update.is_some() {
            outln!("  external updates: {}", cadence_line(&c.external));
        }
        for l in deadline_lines(c) {
            outln!("  {l}");
        }
    }
    if let Some(l) = v.postmortem.as_ref().and_then(postmortem_line) {
        outln!("  {l}");
    }
}

fn print_comms(v: &CommunicationsView) {
    outln!("{}: communications at {}", v.codename, v.now);
    outln!("  internal updates: {}", cadence_line(&v.status.internal));
    outln!("  external updates: {}", cadence_line(&v.status.external));
    if let Some(a) = v.status.aware_at {
        outln!("  organisation aware since {a}");
    }
    for l in deadline_lines(&v.status) {
        outln!("  {l}");
    }
    outln!();
    if v.statements.is_empty() {
        outln!(
            "No external statements. Draft one: palisade incident statement draft {} --title … --body …",
            v.codename
        );
        return;
    }
    let rows: Vec<Vec<String>> = v
        .statements
        .iter()
        .map(|s| {
            vec![
                s.n.to_string(),
                s.revision.to_string(),
                s.state.clone(),
                s.approved_by.clone().unwrap_or_else(|| "-".into()),
                if s.avoided_phrases.is_empty() {
                    "-".into()
                } else {
                    s.avoided_phrases.join("; ")
                },
                s.published_title.clone().unwrap_or_else(|| s.title.clone()),
            ]
        })
        .collect();
    out!(
        "{}",
        table(
            &["STATEMENT", "REV", "STATE", "APPROVED BY", "AVOID", "TITLE"],
            &rows
        )
    );
}
