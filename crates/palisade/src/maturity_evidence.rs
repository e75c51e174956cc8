//! `palisade maturity evidence`: gather what the server holds (services' scans, SBOMs per
//! environment, on-call, alert integrations, overdue findings; security incidents and their
//! postmortems) through the API, and print the answers `palisade-maturity`'s evidence rules
//! propose, with the facts and links behind each — as a table, JSON, or an assessment block to
//! add to the answers file and confirm item by item.

use std::path::PathBuf;

use anyhow::{Context, bail};
use palisade_maturity::evidence::{
    self, Facts, IncidentRecord, Proposal, Record, ScanRecord, ServiceRecord,
};
use serde_json::Value;

use crate::Format;
use crate::client::{Client, ClientArgs, seg};

#[derive(clap::Args, Debug)]
pub struct EvidenceArgs {
    /// The model the proposals are for (SAMM or DSOMM; see `palisade maturity models`).
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// The model's kind, when detection should not decide.
    #[arg(long, value_enum)]
    kind: Option<crate::maturity_cmd::KindArg>,
    /// Only these services (repeatable) [default: every service the token may see].
    #[arg(long = "service", value_name = "NAME")]
    services: Vec<String>,
    /// More evidence rules (TOML, the format of the built-in ones in docs/maturity.md);
    /// repeatable. Their rules come first, so they can override a built-in one's item.
    #[arg(long = "evidence", value_name = "FILE")]
    evidence: Vec<PathBuf>,
    /// Apply only the `--evidence` files.
    #[arg(long)]
    no_builtin_evidence: bool,
    /// Print the proposals as an assessment to add under `assessments:` in the answers file
    /// (each answer with its note and evidence links, unconfirmed).
    #[arg(long)]
    yaml: bool,
    /// The day facts are counted to (YYYY-MM-DD) [default: today, UTC].
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Run it (it talks to the server: a runtime of its own).
pub fn run(a: EvidenceArgs) -> anyhow::Result<i32> {
    let kind = a.kind.map(|k| k.kind());
    let model = palisade_maturity::load(&a.model, kind).map_err(|e| anyhow::anyhow!("{e}"))?;
    let kind = model.kind();
    if !matches!(
        kind,
        palisade_maturity::Kind::Samm | palisade_maturity::Kind::Dsomm
    ) {
        bail!(
            "evidence rules propose SAMM and DSOMM answers; {} is answered by hand",
            kind
        );
    }
    let known = evidence::fact_names();
    let mut rules = Vec::new();
    for f in &a.evidence {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        rules.extend(evidence::parse_rules(f, &text, &known).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    if !a.no_builtin_evidence {
        rules.extend(evidence::builtin());
    }
    let today = match &a.at {
        Some(d) => d.clone(),
        None => {
            let d = time::OffsetDateTime::now_utc().date();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        }
    };
    let client = Client::new(&a.client)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let record = runtime.block_on(gather(&client, &a.services))?;
    let facts = Facts::from_record(&record, &today);
    let proposals = evidence::propose(kind, &rules, &facts, &model.ids());
    let text = if a.yaml {
        yaml(&proposals, &today, &model)
    } else {
        match a.client.format {
            Format::Json => format!(
                "{:#}\n",
                serde_json::json!({"model": {"kind": kind, "version": model.version()}, "at": today, "facts": facts.facts, "proposals": proposals})
            ),
            Format::Table => table(&proposals, &facts, &model),
        }
    };
    print!("{text}");
    eprintln!(
        "palisade: {} proposal(s) from {} service(s) and {} security incident(s); confirm each (confirmed_by, confirmed_at) before it counts",
        proposals.len(),
        record.services.len(),
        record.incidents.len()
    );
    Ok(0)
}

fn table(ps: &[Proposal], facts: &Facts, model: &palisade_maturity::Model) -> String {
    if ps.is_empty() {
        let seen: Vec<String> = facts
            .facts
            .iter()
            .filter(|(_, f)| f.value > 0.0)
            .map(|(n, f)| format!("{n} = {}", f.value))
            .collect();
        return format!(
            "Nothing to propose: the record shows too little yet ({}).\n",
            if seen.is_empty() {
                "no scans, integrations or incidents".to_string()
            } else {
                seen.join(", ")
            }
        );
    }
    let rows: Vec<Vec<String>> = ps
        .iter()
        .map(|p| {
            vec![
                p.item.clone(),
                model.label(&p.item),
                match &p.value {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                },
                p.facts
                    .iter()
                    .map(|(_, _, d)| d.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    crate::output::table(&["ITEM", "WHAT", "PROPOSED", "BECAUSE"], &rows)
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// An assessment block for the answers file: every proposal as a full answer with its note and
/// links, unconfirmed.
fn yaml(ps: &[Proposal], today: &str, model: &palisade_maturity::Model) -> String {
    let mut out = String::new();
    out.push_str(&format!("  - date: {today}\n    by: palisade\n    notes: {}\n    answers:\n", quoted("proposed from Palisade's record; an answer counts once confirmed: add confirmed_by and confirmed_at to it, or change or delete it")));
    for p in ps {
        let value = match &p.value {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let item = if p.item.contains('-') && p.item.len() == 36 {
            quoted(&p.item)
        } else {
            p.item.clone()
        };
        out.push_str(&format!(
            "      # {}\n",
            model.label(&p.item).replace('\n', " ")
        ));
        out.push_str(&format!(
            "      {item}:\n        value: {value}\n        by: palisade\n"
        ));
        let facts: Vec<String> = p
            .facts
            .iter()
            .map(|(n, v, d)| format!("{n} = {v} ({d})"))
            .collect();
        out.push_str(&format!(
            "        note: {}\n",
            quoted(&format!("proposed: {}; {}", p.because, facts.join("; ")))
        ));
        if !p.evidence.is_empty() {
            out.push_str("        evidence:\n");
            for e in &p.evidence {
                out.push_str(&format!("          - {}\n", quoted(&e.url)));
            }
        }
    }
    out
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// What the server holds, through its API.
async fn gather(c: &Client, only: &[String]) -> anyhow::Result<Record> {
    let web = c.base().to_string();
    let names: Vec<String> = if only.is_empty() {
        let list: Value = c.get("/api/v1/services").await?;
        list["services"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| text(s, "name")).collect())
            .unwrap_or_default()
    } else {
        only.to_vec()
    };
    let mut services = Vec::new();
    for name in names {
        let s: Value = c.get(&format!("/api/v1/services/{}", seg(&name))).await?;
        let scans: Value = c
            .get(&format!("/api/v1/services/{}/scans", seg(&name)))
            .await?;
        let scans: Vec<ScanRecord> = scans["scans"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| ScanRecord {
                        phase: text(x, "phase").unwrap_or_default(),
                        tool: text(x, "tool").unwrap_or_default(),
                        name: text(x, "name"),
                        runs: x["runs"].as_u64().unwrap_or(0),
                        last_run_at: text(x, "last_run_at"),
                        last_format: text(x, "last_format"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let overdue: Value = c
            .get(&format!(
                "/api/v1/findings?service={}&overdue=true",
                seg(&name)
            ))
            .await?;
        let overdue = overdue["findings"].as_array().cloned().unwrap_or_default();
        let high = overdue
            .iter()
            .filter(|f| matches!(f["severity"].as_str(), Some("high" | "critical")))
            .count();
        let alerting = s["integrations"].as_array().is_some_and(|a| {
            a.iter().any(|i| {
                i["revoked"].as_bool() != Some(true)
                    && i.get("revoked_at").is_none_or(Value::is_null)
            })
        });
        services.push(ServiceRecord {
            url: format!("{web}/services/{}", seg(&name)),
            name,
            scans,
            on_call: !s["escalation_policy"].is_null(),
            alerting,
            overdue: overdue.len() as u64,
            overdue_high: high as u64,
        });
    }
    let list: Value = c.get("/api/v1/incidents").await?;
    let mut incidents = Vec::new();
    for i in list["incidents"].as_array().cloned().unwrap_or_default() {
        if i["kind"] != "security" {
            continue;
        }
        let codename = text(&i, "codename").unwrap_or_default();
        let status = text(&i, "status").unwrap_or_default();
        let postmortem = if matches!(status.as_str(), "resolved" | "closed") {
            match c
                .get::<Value>(&format!("/api/v1/incidents/{}/postmortem", seg(&codename)))
                .await
            {
                Ok(p) => text(&p, "status"),
                // No postmortem started yet.
                Err(_) => None,
            }
        } else {
            None
        };
        incidents.push(IncidentRecord {
            url: format!("{web}/incidents/{}", seg(&codename)),
            codename,
            status,
            commander: !i["commander"].is_null(),
            postmortem,
            declared_at: text(&i, "declared_at").unwrap_or_default(),
            drill: text(&i, "title")
                .is_some_and(|t| t.starts_with(palisade_app::drills::DRILL_TITLE_PREFIX)),
        });
    }
    Ok(Record {
        services,
        incidents,
    })
}
