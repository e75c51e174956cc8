//! `palisade drill …` (start a drill of a shipped scenario or a file of your own, release what is due, print the
//! debrief) and `palisade playbook list` (last reviewed, last tested, untested flagged). A thin
//! client of the HTTP API; the team runs the drill with the `incident` commands.

use crate::client::{Client, ClientArgs, problem_error, seg};
use crate::output::{json, table};
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::routes::drills::{DrillStarted, PlaybookList, TickAnswer};
use palisade_server::views::InjectedView;
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum DrillCmd {
    /// Start a drill: declare its incident (marked as a drill, kept out of metrics, notices to
    /// participants only) and release what is due at once.
    Start {
        /// A shipped scenario's id (leaked-cloud-key, compromised-dependency,
        /// insider-exfiltration), or the path of a scenario file of your own (`*.yaml`, the
        /// format of docs/training.md), which the drill keeps on its ledger.
        scenario: String,
        /// A team whose members take part.
        #[arg(long)]
        team: Option<String>,
        /// A further participant by user name (repeatable); you always take part.
        #[arg(long = "participant")]
        participants: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Release the drill's injections that are due now (or, with --elapsed, due by that long
    /// after its start) onto its ledger.
    Tick {
        /// The drill's incident (codename or id).
        drill: String,
        /// Move the drill on: release what falls due within this long of its start (30m, 3h).
        #[arg(long)]
        elapsed: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Score the drill from its ledger and print the debrief, compared with earlier runs of the
    /// same scenario.
    Debrief {
        /// The drill's incident (codename or id).
        drill: String,
        /// Print a self-contained HTML page instead of Markdown (`--format` is the client's
        /// table/json switch, which a debrief does not use).
        #[arg(long)]
        html: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum PlaybookCmd {
    /// List playbooks with their last review and last test (by a drill); flag those untested
    /// for longer than the period.
    List {
        /// Days a test stays good.
        #[arg(long, default_value_t = 180)]
        period_days: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn print_released(released: &[InjectedView]) {
    if released.is_empty() {
        outln!("nothing due");
        return;
    }
    let rows: Vec<Vec<String>> = released
        .iter()
        .map(|i| {
            vec![
                i.injection.clone(),
                i.kind.clone(),
                i.due_at.clone(),
                i.text.clone(),
            ]
        })
        .collect();
    out!("{}", table(&["INJECTION", "KIND", "DUE", "TEXT"], &rows));
}

pub async fn run(cmd: DrillCmd) -> anyhow::Result<Outcome> {
    match cmd {
        DrillCmd::Start {
            scenario,
            team,
            participants,
            client,
        } => {
            let path = std::path::Path::new(&scenario);
            let body = if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("cannot read the scenario file {scenario}: {e}")
                })?;
                json!({"scenario_yaml": text, "team": team, "participants": participants})
            } else {
                json!({"scenario": scenario, "team": team, "participants": participants})
            };
            let c = Client::new(&client)?;
            let v: DrillStarted = c.post("/api/v1/drills", &body).await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => {
                    outln!(
                        "DRILL {} ({}): {}",
                        v.incident.codename,
                        v.incident.id,
                        v.incident.title
                    );
                    if let Some(d) = &v.incident.drill {
                        outln!(
                            "  scenario {}; participants: {}",
                            d.scenario,
                            d.participants.join(", ")
                        );
                    }
                    print_released(&v.released);
                }
            }
        }
        DrillCmd::Tick {
            drill,
            elapsed,
            client,
        } => {
            let c = Client::new(&client)?;
            let v: TickAnswer = c
                .post(
                    &format!("/api/v1/incidents/{}/drill/tick", seg(&drill)),
                    &json!({"elapsed": elapsed}),
                )
                .await?;
            match client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => {
                    outln!(
                        "DRILL of {}: {} injection(s) released in all",
                        v.drill.scenario,
                        v.drill.injected.len()
                    );
                    print_released(&v.released);
                }
            }
        }
        DrillCmd::Debrief {
            drill,
            html,
            client,
        } => {
            let c = Client::new(&client)?;
            let f = if html { "html" } else { "markdown" };
            let path = format!("/api/v1/incidents/{}/drill/debrief?format={f}", seg(&drill));
            let resp = c.request(reqwest::Method::GET, &path).send().await?;
            if !resp.status().is_success() {
                return Err(problem_error(resp, &path).await);
            }
            out!("{}", resp.text().await?);
        }
    }
    Ok(Outcome::Ok)
}

pub async fn run_playbook(cmd: PlaybookCmd) -> anyhow::Result<Outcome> {
    let PlaybookCmd::List {
        period_days,
        client,
    } = cmd;
    let c = Client::new(&client)?;
    let list: PlaybookList = c
        .get(&format!("/api/v1/playbooks?period_days={period_days}"))
        .await?;
    match client.format {
        Format::Json => outln!("{}", json(&list)),
        Format::Table => {
            let rows: Vec<Vec<String>> = list
                .playbooks
                .iter()
                .map(|p| {
                    vec![
                        p.id.clone(),
                        p.last_reviewed.clone().unwrap_or_else(|| "—".into()),
                        p.last_tested.clone().unwrap_or_else(|| "never".into()),
                        if p.flagged { "UNTESTED" } else { "ok" }.to_string(),
                        p.status.clone(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(
                    &["PLAYBOOK", "LAST REVIEWED", "LAST TESTED", "FLAG", "STATUS"],
                    &rows
                )
            );
        }
    }
    Ok(Outcome::Ok)
}
