//! `palisade escalation …`: escalation policies — create, show, list, set the levels (from a
//! YAML or JSON file, or `--level` flags), rename, set the repeat count and the keep-paging flag.
//! A thin client of the HTTP API.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::schedule_cmd::read_object;
use crate::{Format, Outcome};
use anyhow::{Context, bail};
use clap::Subcommand;
use palisade_server::routes::escalations::{EscalationList, EscalationView};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum EscalationCmd {
    /// Create a policy. Levels come from `--level` flags or a YAML/JSON file with `levels`
    /// (and optionally `description`, `repeat`, `keep_paging_after_ack`).
    Create {
        /// Unique among policies: 1–64 characters of a-z, 0-9, '.', '_', '-'.
        name: String,
        #[command(flatten)]
        levels: LevelArgs,
        /// Go through the levels again this many times when nobody acknowledges (0–9).
        #[arg(long)]
        repeat: Option<u8>,
        /// Keep paging everyone on a level after the first acknowledgement.
        #[arg(long)]
        keep_paging_after_ack: bool,
        /// What it is, in a sentence.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List policies by name.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a policy, its levels and its history.
    Show {
        /// Name or id.
        policy: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Replace a policy's levels.
    SetLevels {
        /// The escalation policy (name or id).
        policy: String,
        #[command(flatten)]
        levels: LevelArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Rename a policy (the new name must be free).
    Rename {
        /// The escalation policy (name or id).
        policy: String,
        /// The name: 1–64 characters of a-z, 0-9, '.', '_', '-'.
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set the repeat count and/or the keep-paging flag.
    Configure {
        /// The escalation policy (name or id).
        policy: String,
        /// Go through the levels again this many times (0–9).
        #[arg(long)]
        repeat: Option<u8>,
        /// true or false.
        #[arg(long)]
        keep_paging_after_ack: Option<bool>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct LevelArgs {
    /// A level: MINUTES=TARGET[,TARGET…], a target being user:NAME or schedule:NAME, e.g.
    /// `--level 5=schedule:payments-primary --level 15=user:ana,schedule:payments-secondary`.
    #[arg(long = "level")]
    level: Vec<String>,
    /// A YAML or JSON file with `levels` (a list of {delay_minutes, targets}).
    #[arg(long, conflicts_with = "level")]
    file: Option<PathBuf>,
}

/// A `--level` flag as a level.
fn parse_level(s: &str) -> anyhow::Result<Value> {
    let (delay, targets) = s
        .split_once('=')
        .with_context(|| format!("{s:?}: a level is MINUTES=TARGET[,TARGET…]"))?;
    let delay: u32 = delay
        .trim()
        .parse()
        .with_context(|| format!("{s:?}: {delay:?} is not a number of minutes"))?;
    let targets = targets
        .split(',')
        .map(|t| match t.trim().split_once(':') {
            Some((kind @ ("user" | "schedule"), name)) => {
                Ok(json!({"type": kind, "name": name.trim()}))
            }
            _ => bail!("{t:?}: a target is user:NAME or schedule:NAME"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(json!({"delay_minutes": delay, "targets": targets}))
}

impl LevelArgs {
    /// The body's fields from the file (if any) with `levels` from the flags (if any).
    fn body(&self) -> anyhow::Result<serde_json::Map<String, Value>> {
        let mut body = match &self.file {
            Some(f) => read_object(f)?,
            None => serde_json::Map::new(),
        };
        if !self.level.is_empty() {
            let levels = self
                .level
                .iter()
                .map(|l| parse_level(l))
                .collect::<anyhow::Result<Vec<_>>>()?;
            body.insert("levels".into(), Value::Array(levels));
        }
        if !body.contains_key("levels") {
            bail!("give the levels: --level MINUTES=TARGET[,TARGET…] or --file with `levels`");
        }
        Ok(body)
    }
}

fn print_policy(v: &EscalationView, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            outln!("{} ({})", v.name, v.id);
            if let Some(d) = &v.description {
                outln!("  {d}");
            }
            outln!(
                "  repeats {} time(s); {} after the first acknowledgement; {} events",
                v.repeat,
                if v.keep_paging_after_ack {
                    "keeps paging"
                } else {
                    "stops paging"
                },
                v.events
            );
            let rows: Vec<Vec<String>> = v
                .levels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    vec![
                        i.to_string(),
                        l.delay_minutes.to_string(),
                        l.targets
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect();
            outln!();
            out!("{}", table(&["LEVEL", "AFTER (MIN)", "PAGES"], &rows));
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

fn path(policy: &str, rest: &str) -> String {
    format!("/api/v1/escalation-policies/{}{rest}", seg(policy))
}

pub async fn run(cmd: EscalationCmd) -> anyhow::Result<Outcome> {
    match cmd {
        EscalationCmd::Create {
            name,
            levels,
            repeat,
            keep_paging_after_ack,
            description,
            client,
        } => {
            let mut body = levels.body()?;
            body.insert("name".into(), json!(name));
            if let Some(r) = repeat {
                body.insert("repeat".into(), json!(r));
            }
            if keep_paging_after_ack {
                body.insert("keep_paging_after_ack".into(), json!(true));
            }
            if let Some(d) = description {
                body.insert("description".into(), json!(d));
            }
            let c = Client::new(&client)?;
            let v: EscalationView = c
                .post("/api/v1/escalation-policies", &Value::Object(body))
                .await?;
            print_policy(&v, client.format);
        }
        EscalationCmd::List { client } => {
            let c = Client::new(&client)?;
            let list: EscalationList = c.get("/api/v1/escalation-policies").await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .escalation_policies
                        .iter()
                        .map(|p| {
                            vec![
                                p.name.clone(),
                                p.levels.to_string(),
                                p.repeat.to_string(),
                                p.keep_paging_after_ack.to_string(),
                                p.description.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(
                            &["NAME", "LEVELS", "REPEAT", "KEEP PAGING", "DESCRIPTION"],
                            &rows
                        )
                    );
                }
            }
        }
        EscalationCmd::Show { policy, client } => {
            let c = Client::new(&client)?;
            let v: EscalationView = c.get(&path(&policy, "")).await?;
            print_policy(&v, client.format);
        }
        EscalationCmd::SetLevels {
            policy,
            levels,
            client,
        } => {
            let body = levels.body()?;
            let c = Client::new(&client)?;
            let v: EscalationView = c
                .post(
                    &path(&policy, "/levels"),
                    &json!({"levels": body["levels"]}),
                )
                .await?;
            print_policy(&v, client.format);
        }
        EscalationCmd::Rename {
            policy,
            name,
            client,
        } => {
            let c = Client::new(&client)?;
            let v: EscalationView = c
                .post(&path(&policy, "/rename"), &json!({"name": name}))
                .await?;
            print_policy(&v, client.format);
        }
        EscalationCmd::Configure {
            policy,
            repeat,
            keep_paging_after_ack,
            client,
        } => {
            let mut body = serde_json::Map::new();
            if let Some(r) = repeat {
                body.insert("repeat".into(), json!(r));
            }
            if let Some(k) = keep_paging_after_ack {
                body.insert("keep_paging_after_ack".into(), json!(k));
            }
            let c = Client::new(&client)?;
            let v: EscalationView = c
                .post(&path(&policy, "/settings"), &Value::Object(body))
                .await?;
            print_policy(&v, client.format);
        }
    }
    Ok(Outcome::Ok)
}
