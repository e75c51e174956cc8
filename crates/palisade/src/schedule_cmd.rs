//! `palisade schedule …`: on-call schedules — create one from a YAML or JSON definition, show,
//! list, change layers, overrides and temporary schedules, and ask who is on call and the shifts
//! of a span. A thin client of the HTTP API; times are RFC 3339.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use anyhow::{Context, bail};
use clap::Subcommand;
use palisade_server::routes::schedules::{OnCallView, ScheduleList, ScheduleView, ShiftsView};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum ScheduleCmd {
    /// Create a schedule. Its definition (time_zone, layers, optional overrides, temporary and
    /// description) comes from a YAML or JSON file, or is just a zone (layers added later).
    Create {
        /// Unique among schedules: 1–64 characters of a-z, 0-9, '.', '_', '-'.
        name: String,
        /// The definition, YAML or JSON.
        #[arg(long)]
        file: Option<PathBuf>,
        /// The IANA time zone (when there is no file, or to set the file's).
        #[arg(long)]
        time_zone: Option<String>,
        /// What it is, in a sentence.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List schedules by name.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a schedule: layers, overrides, temporary schedules, history.
    Show {
        /// Name or id.
        schedule: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Who is on call at a time (default now).
    Who {
        /// The schedule (name or id).
        schedule: String,
        /// RFC 3339, e.g. 2026-12-24T18:00:00+01:00.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The shifts (and gaps) from one time to another (at most 400 days).
    Shifts {
        /// The schedule (name or id).
        schedule: String,
        /// RFC 3339, e.g. 2026-12-24T18:00:00+01:00.
        #[arg(long)]
        from: String,
        /// RFC 3339, after --from.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add, replace or remove a layer.
    #[command(subcommand)]
    Layer(LayerCmd),
    /// Add or remove an override.
    #[command(subcommand)]
    Override(OverrideCmd),
    /// Add or remove a temporary schedule.
    #[command(subcommand)]
    Temporary(TemporaryCmd),
}

#[derive(Subcommand, Debug)]
pub enum LayerCmd {
    /// Add a layer on top, from a YAML or JSON file (participants, rotation, start, …).
    Add {
        /// The schedule (name or id).
        schedule: String,
        /// A YAML or JSON file.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Replace the layer at a position (0 is the lowest) with a file's.
    Replace {
        /// The schedule (name or id).
        schedule: String,
        /// The position, from 0 (as `schedule show` lists them).
        index: usize,
        /// A YAML or JSON file.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove the layer at a position.
    Remove {
        /// The schedule (name or id).
        schedule: String,
        /// The position, from 0 (as `schedule show` lists them).
        index: usize,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum OverrideCmd {
    /// Add an override after the others: replace (the user alone), add (the user too) or remove
    /// (not the user), from one time to another.
    Add {
        /// The schedule (name or id).
        schedule: String,
        /// The user (their name).
        #[arg(long)]
        user: String,
        /// RFC 3339, e.g. 2026-12-24T18:00:00+01:00.
        #[arg(long)]
        from: String,
        /// RFC 3339, after --from.
        #[arg(long)]
        to: String,
        /// replace, add or remove.
        #[arg(long = "type", default_value = "replace")]
        kind: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove the override at a position (from 0, as `schedule show` lists them).
    Remove {
        /// The schedule (name or id).
        schedule: String,
        /// The position, from 0 (as `schedule show` lists them).
        index: usize,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum TemporaryCmd {
    /// Add a temporary schedule from a YAML or JSON file (from, to, shifts).
    Add {
        /// The schedule (name or id).
        schedule: String,
        /// A YAML or JSON file.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove the temporary schedule at a position.
    Remove {
        /// The schedule (name or id).
        schedule: String,
        /// The position, from 0 (as `schedule show` lists them).
        index: usize,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Largest definition file read.
pub(crate) const MAX_FILE: u64 = 1024 * 1024;

/// A YAML or JSON file (JSON is read as YAML, which it is) as a JSON object.
pub(crate) fn read_object(path: &Path) -> anyhow::Result<serde_json::Map<String, Value>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_FILE {
        bail!("{} is larger than {MAX_FILE} bytes", path.display());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not valid YAML or JSON", path.display()))?;
    match v {
        Value::Object(o) => Ok(o),
        _ => bail!("{} must hold a mapping (an object)", path.display()),
    }
}

fn path(schedule: &str, rest: &str) -> String {
    format!("/api/v1/schedules/{}{rest}", seg(schedule))
}

fn print_schedule(v: &ScheduleView, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            outln!("{} ({}) in {}", v.name, v.id, v.time_zone);
            if let Some(d) = &v.description {
                outln!("  {d}");
            }
            outln!(
                "  created by {} at {}; {} events",
                v.created_by,
                v.created_at,
                v.events
            );
            let layers: Vec<Vec<String>> = v
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    vec![
                        i.to_string(),
                        l.participants
                            .iter()
                            .map(|p| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        format!("{} × {}", l.rotation.length, text(&l.rotation.unit)),
                        l.start.to_string(),
                        l.end.map(|e| e.to_string()).unwrap_or_default(),
                        l.restrictions.len().to_string(),
                    ]
                })
                .collect();
            outln!();
            out!(
                "{}",
                table(
                    &[
                        "LAYER",
                        "PARTICIPANTS",
                        "ROTATION",
                        "START",
                        "END",
                        "WINDOWS"
                    ],
                    &layers
                )
            );
            if !v.overrides.is_empty() {
                let rows: Vec<Vec<String>> = v
                    .overrides
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        let kind = serde_json::to_value(o).unwrap_or_default()["type"].clone();
                        vec![
                            i.to_string(),
                            text(&kind),
                            o.user().to_string(),
                            o.from().to_string(),
                            o.to().to_string(),
                        ]
                    })
                    .collect();
                outln!();
                out!(
                    "{}",
                    table(&["OVERRIDE", "TYPE", "USER", "FROM", "TO"], &rows)
                );
            }
            if !v.temporary.is_empty() {
                let rows: Vec<Vec<String>> = v
                    .temporary
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        vec![
                            i.to_string(),
                            t.from.to_string(),
                            t.to.to_string(),
                            t.shifts.len().to_string(),
                        ]
                    })
                    .collect();
                outln!();
                out!("{}", table(&["TEMPORARY", "FROM", "TO", "SHIFTS"], &rows));
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

/// A serialised value as text (an enum as its name).
pub(crate) fn text<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    }
}

pub async fn run(cmd: ScheduleCmd) -> anyhow::Result<Outcome> {
    match cmd {
        ScheduleCmd::Create {
            name,
            file,
            time_zone,
            description,
            client,
        } => {
            let mut body = match &file {
                Some(f) => read_object(f)?,
                None => serde_json::Map::new(),
            };
            if let Some(n) = body.get("name").and_then(Value::as_str)
                && n != name
            {
                bail!("the file names the schedule {n:?}, the command {name:?}");
            }
            body.insert("name".into(), json!(name));
            if let Some(z) = time_zone {
                body.insert("time_zone".into(), json!(z));
            }
            if let Some(d) = description {
                body.insert("description".into(), json!(d));
            }
            if !body.contains_key("time_zone") {
                bail!("a schedule needs a time zone: --time-zone or `time_zone` in --file");
            }
            let c = Client::new(&client)?;
            let v: ScheduleView = c.post("/api/v1/schedules", &Value::Object(body)).await?;
            print_schedule(&v, client.format);
        }
        ScheduleCmd::List { client } => {
            let c = Client::new(&client)?;
            let list: ScheduleList = c.get("/api/v1/schedules").await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .schedules
                        .iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                s.time_zone.clone(),
                                s.layers.to_string(),
                                s.overrides.to_string(),
                                s.description.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(
                            &["NAME", "ZONE", "LAYERS", "OVERRIDES", "DESCRIPTION"],
                            &rows
                        )
                    );
                }
            }
        }
        ScheduleCmd::Show { schedule, client } => {
            let c = Client::new(&client)?;
            let v: ScheduleView = c.get(&path(&schedule, "")).await?;
            print_schedule(&v, client.format);
        }
        ScheduleCmd::Who {
            schedule,
            at,
            client,
        } => {
            let c = Client::new(&client)?;
            let q = at.map(|a| format!("?at={}", seg(&a))).unwrap_or_default();
            let v: OnCallView = c.get(&path(&schedule, &format!("/oncall{q}"))).await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => {
                    if v.users.is_empty() {
                        outln!("nobody is on call on {} at {}", v.schedule, v.at);
                    } else {
                        outln!("{}", v.users.join(", "));
                    }
                }
            }
        }
        ScheduleCmd::Shifts {
            schedule,
            from,
            to,
            client,
        } => {
            let c = Client::new(&client)?;
            let v: ShiftsView = c
                .get(&path(
                    &schedule,
                    &format!("/shifts?from={}&to={}", seg(&from), seg(&to)),
                ))
                .await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => {
                    let mut rows: Vec<(String, Vec<String>)> = v
                        .shifts
                        .iter()
                        .map(|s| {
                            (
                                s.start.to_string(),
                                vec![
                                    s.start.to_string(),
                                    s.end.to_string(),
                                    s.users
                                        .iter()
                                        .map(|u| u.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                ],
                            )
                        })
                        .collect();
                    rows.extend(v.gaps.iter().map(|g| {
                        (
                            g.start.to_string(),
                            vec![
                                g.start.to_string(),
                                g.end.to_string(),
                                "(nobody)".to_string(),
                            ],
                        )
                    }));
                    rows.sort_by(|a, b| a.0.cmp(&b.0));
                    let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.1).collect();
                    out!("{}", table(&["FROM", "TO", "ON CALL"], &rows));
                }
            }
        }
        ScheduleCmd::Layer(cmd) => {
            let (client, schedule, sub, body) = match cmd {
                LayerCmd::Add {
                    schedule,
                    file,
                    client,
                } => (
                    client,
                    schedule,
                    "/layers",
                    json!({"layer": Value::Object(read_object(&file)?)}),
                ),
                LayerCmd::Replace {
                    schedule,
                    index,
                    file,
                    client,
                } => (
                    client,
                    schedule,
                    "/layers/replace",
                    json!({"index": index, "layer": Value::Object(read_object(&file)?)}),
                ),
                LayerCmd::Remove {
                    schedule,
                    index,
                    client,
                } => (client, schedule, "/layers/remove", json!({"index": index})),
            };
            let c = Client::new(&client)?;
            let v: ScheduleView = c.post(&path(&schedule, sub), &body).await?;
            print_schedule(&v, client.format);
        }
        ScheduleCmd::Override(cmd) => {
            let (client, schedule, sub, body) = match cmd {
                OverrideCmd::Add {
                    schedule,
                    user,
                    from,
                    to,
                    kind,
                    client,
                } => (
                    client,
                    schedule,
                    "/overrides",
                    json!({"type": kind, "user": user, "from": from, "to": to}),
                ),
                OverrideCmd::Remove {
                    schedule,
                    index,
                    client,
                } => (
                    client,
                    schedule,
                    "/overrides/remove",
                    json!({"index": index}),
                ),
            };
            let c = Client::new(&client)?;
            let v: ScheduleView = c.post(&path(&schedule, sub), &body).await?;
            print_schedule(&v, client.format);
        }
        ScheduleCmd::Temporary(cmd) => {
            let (client, schedule, sub, body) = match cmd {
                TemporaryCmd::Add {
                    schedule,
                    file,
                    client,
                } => (
                    client,
                    schedule,
                    "/temporary",
                    Value::Object(read_object(&file)?),
                ),
                TemporaryCmd::Remove {
                    schedule,
                    index,
                    client,
                } => (
                    client,
                    schedule,
                    "/temporary/remove",
                    json!({"index": index}),
                ),
            };
            let c = Client::new(&client)?;
            let v: ScheduleView = c.post(&path(&schedule, sub), &body).await?;
            print_schedule(&v, client.format);
        }
    }
    Ok(Outcome::Ok)
}
