//! `palisade team …`: teams — create, list, show, add a member (or change a member's role),
//! remove one, rename. A thin client of the HTTP API.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::schedule_cmd::text;
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::routes::teams::{TeamList, TeamView};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum TeamCmd {
    /// Create a team. Its name is unique: 1–64 characters of a-z, 0-9, '.', '_', '-'.
    Create {
        /// The name: 1–64 characters of a-z, 0-9, '.', '_', '-'.
        name: String,
        /// What it is, in a sentence.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List teams by name.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a team, its members and its history.
    Show {
        /// Name or id.
        team: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a member, or change a member's role.
    AddMember {
        /// The team (name or id).
        team: String,
        /// The user (their name).
        user: String,
        /// member or manager.
        #[arg(long, default_value = "member")]
        role: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a member.
    RemoveMember {
        /// The team (name or id).
        team: String,
        /// The user (their name).
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Rename a team (the new name must be free).
    Rename {
        /// The team (name or id).
        team: String,
        /// The name: 1–64 characters of a-z, 0-9, '.', '_', '-'.
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn print_team(v: &TeamView, format: Format) {
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
            let rows: Vec<Vec<String>> = v
                .members
                .iter()
                .map(|m| vec![m.user.clone(), text(&m.role)])
                .collect();
            outln!();
            out!("{}", table(&["MEMBER", "ROLE"], &rows));
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

fn path(team: &str, rest: &str) -> String {
    format!("/api/v1/teams/{}{rest}", seg(team))
}

pub async fn run(cmd: TeamCmd) -> anyhow::Result<Outcome> {
    let (client, v): (ClientArgs, TeamView) = match cmd {
        TeamCmd::Create {
            name,
            description,
            client,
        } => {
            let c = Client::new(&client)?;
            let v = c
                .post(
                    "/api/v1/teams",
                    &json!({"name": name, "description": description}),
                )
                .await?;
            (client, v)
        }
        TeamCmd::List { client } => {
            let c = Client::new(&client)?;
            let list: TeamList = c.get("/api/v1/teams").await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .teams
                        .iter()
                        .map(|t| {
                            vec![
                                t.name.clone(),
                                t.members.to_string(),
                                t.description.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    out!("{}", table(&["NAME", "MEMBERS", "DESCRIPTION"], &rows));
                }
            }
            return Ok(Outcome::Ok);
        }
        TeamCmd::Show { team, client } => {
            let c = Client::new(&client)?;
            let v = c.get(&path(&team, "")).await?;
            (client, v)
        }
        TeamCmd::AddMember {
            team,
            user,
            role,
            client,
        } => {
            let c = Client::new(&client)?;
            let v = c
                .post(
                    &path(&team, "/members"),
                    &json!({"user": user, "role": role}),
                )
                .await?;
            (client, v)
        }
        TeamCmd::RemoveMember { team, user, client } => {
            let c = Client::new(&client)?;
            let v = c
                .post(&path(&team, "/members/remove"), &json!({"user": user}))
                .await?;
            (client, v)
        }
        TeamCmd::Rename { team, name, client } => {
            let c = Client::new(&client)?;
            let v = c
                .post(&path(&team, "/rename"), &json!({"name": name}))
                .await?;
            (client, v)
        }
    };
    print_team(&v, client.format);
    Ok(Outcome::Ok)
}
