//! `palisade threat`: threat models as code, offline. Argument parsing, printing and exit codes
//! around `palisade-threat`.
//!
//! Exit codes (the scanners' contract): 0 done, and nothing open at or above `--fail-on`; 1 open
//! threats at or above `--fail-on` (for `diff`: threats the change opened at that severity);
//! 2 error: a model or rules file that does not load (every problem is listed with its file and
//! line), an unreadable file, an unknown threat id.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use palisade_threat::engine::{self, Day};
use palisade_threat::model::{self, ATTRIBUTES, Level, Model};
use palisade_threat::rules::{self, ELEMENT_FIELDS, FLOW_FIELDS, RuleSet, Stride};
use palisade_threat::{Analysis, ThreatStatus, diagram, diff, report};

use crate::deps_cmd::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, FailOn};

#[derive(clap::Subcommand, Debug)]
pub enum ThreatCmd {
    /// Check that models (and `--rules` files) load: every problem with its file, line and
    /// path. Exit 0 when all are valid, 2 otherwise.
    Validate(ValidateArgs),
    /// Find the threats of a model: every rule applied to every element and flow, with the
    /// status the model records for each. `--format sarif` for pull-request annotations,
    /// `markdown` or `html` for a report, `--fail-on high` to fail CI on open threats.
    Check(CheckArgs),
    /// Why a threat was raised: its rule, the attributes that matched, severity as likelihood ×
    /// impact, mitigations, and how to record a decision. Also says why a rule did NOT raise a
    /// threat on an element (`RULE@ELEMENT`), and explains a rule id alone.
    Explain(ExplainArgs),
    /// Draw the data-flow diagram: elements by type, trust boundaries as nested boxes, flows
    /// labelled, each element's open threats counted and coloured by the highest severity. SVG
    /// (laid out by Palisade, no Graphviz needed) or Graphviz DOT.
    Diagram(DiagramArgs),
    /// What a change does to the threats: added, removed and changed threats between two
    /// versions of a model (two files, or `--git REV` and the working tree).
    Diff(DiffArgs),
    /// List the rules applied: built-in and `--rules` files.
    Rules(RulesListArgs),
    /// List the attributes elements and flows may carry, and the ones the analysis derives,
    /// with what each means.
    Attributes(AttributesArgs),
    /// Make a Palisade model from an Open Threat Model (OTM, JSON or YAML) or a Threagile model:
    /// what did not carry over exactly is listed, to check before committing the result.
    Import(ImportArgs),
    /// Write a model and its threats as an Open Threat Model (OTM 0.2.0) JSON file, for tools
    /// that read OTM.
    Export(ExportArgs),
    /// Print the JSON Schema of the model file, for editors (completion and checking as you
    /// type; also published as docs/threat-model.schema.json).
    Schema,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    /// Open Threat Model 0.2.0 (IriusRisk and others), JSON or YAML.
    Otm,
    /// A Threagile model (YAML).
    Threagile,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    /// Its format.
    #[arg(long, value_enum)]
    from: ImportFormat,
    /// Write the Palisade model here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Open Threat Model 0.2.0 JSON.
    Otm,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The model file (YAML).
    #[arg(default_value = "threatmodel.yaml")]
    model: PathBuf,
    /// The format to write.
    #[arg(long, value_enum, default_value_t = ExportFormat::Otm)]
    to: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    rules: RuleArgs,
    /// The day acceptances are checked against (YYYY-MM-DD; default today, UTC).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
}

/// Rules beyond (or instead of) the built-in ones.
#[derive(clap::Args, Debug, Clone)]
pub struct RuleArgs {
    /// A rules file of your own (TOML or YAML, the format of the built-in ones: `palisade
    /// threat rules --format toml` prints one); repeat for several.
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Apply only the `--rules` files, not Palisade's built-in rules.
    #[arg(long)]
    no_builtin_rules: bool,
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Model files (YAML); their `include:`s are read too.
    #[arg(required = true)]
    models: Vec<PathBuf>,
    #[command(flatten)]
    rules: RuleArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    /// A table for people (open threats; `--all` adds decided ones).
    Table,
    /// The analysis as JSON: summary, threats with matched attributes and status.
    Json,
    /// SARIF 2.1.0: each threat at its element's line in the model; decided threats as
    /// suppressions. Upload with `palisade upload` or to code scanning.
    Sarif,
    /// A Markdown report (for a pull request or a wiki).
    Markdown,
    /// A standalone HTML report.
    Html,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The model file (YAML).
    #[arg(default_value = "threatmodel.yaml")]
    model: PathBuf,
    #[command(flatten)]
    rules: RuleArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    format: CheckFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a threat at this severity or higher is open (not mitigated, accepted or a
    /// false positive). Without it, open threats do not fail the command.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// The day acceptances are checked against (YYYY-MM-DD; default today, UTC): an
    /// acceptance that expired before it counts as open.
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// In the table, list decided threats (mitigated, accepted, false positive) too.
    #[arg(long)]
    all: bool,
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// A threat id (`RULE@ELEMENT` or `RULE@FLOW`, as `check` prints it) or a rule id.
    id: String,
    #[command(flatten)]
    rules: RuleArgs,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    format: TextFormat,
    /// The day acceptances are checked against (YYYY-MM-DD; default today, UTC).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagramFormat {
    /// SVG, for browsers, pull requests and documents.
    Svg,
    /// Graphviz DOT (`dot -Tpng`), for people who want Graphviz's layout.
    Dot,
}

#[derive(clap::Args, Debug)]
pub struct DiagramArgs {
    /// The model file (YAML).
    #[arg(default_value = "threatmodel.yaml")]
    model: PathBuf,
    /// Write the diagram to this file instead of standard output; the format follows its
    /// extension (`.dot` or `.gv` is DOT) unless `--format` says.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format [default: svg, or dot for a `.dot`/`.gv` --output].
    #[arg(long, value_enum)]
    format: Option<DiagramFormat>,
    /// Draw the model only: no threat counts or severity colours (and no rules applied).
    #[arg(long)]
    no_threats: bool,
    #[command(flatten)]
    rules: RuleArgs,
    /// The day acceptances are checked against (YYYY-MM-DD; default today, UTC).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffFormat {
    /// One line per threat: `+` added, `-` removed, `~` changed.
    Text,
    /// A table for a pull-request comment.
    Markdown,
    /// For scripts.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// OLD and NEW model files; with `--git REV`, one model file (its version at REV is OLD,
    /// the working tree's is NEW).
    #[arg(required = true, num_args = 1..=2, value_name = "MODEL")]
    models: Vec<PathBuf>,
    /// Compare the model in the working tree with its version at this git revision (a commit,
    /// branch or tag, e.g. `origin/main`); includes are read at that revision too.
    #[arg(long, value_name = "REV")]
    git: Option<String>,
    #[command(flatten)]
    rules: RuleArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Exit 1 when the change leaves a threat open at this severity or higher that was not
    /// open at it before (added, reopened, or raised in severity).
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// The day acceptances are checked against (YYYY-MM-DD; default today, UTC).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulesFormat {
    /// One line per rule.
    Table,
    /// Every field, for scripts.
    Json,
    /// Documentation.
    Markdown,
}

#[derive(clap::Args, Debug)]
pub struct RulesListArgs {
    #[command(flatten)]
    rules: RuleArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    format: RulesFormat,
    /// Only rules of this STRIDE category (spoofing, tampering, repudiation,
    /// information-disclosure, denial-of-service, elevation-of-privilege).
    #[arg(long, value_name = "CATEGORY")]
    stride: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct AttributesArgs {
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    format: TextFormat,
}

/// Run a `palisade threat` command; returns the exit code.
pub fn run(cmd: ThreatCmd) -> i32 {
    let result = match cmd {
        ThreatCmd::Validate(a) => validate(a),
        ThreatCmd::Check(a) => check(a),
        ThreatCmd::Explain(a) => explain(a),
        ThreatCmd::Diagram(a) => diagram(a),
        ThreatCmd::Diff(a) => run_diff(a),
        ThreatCmd::Rules(a) => list_rules(a),
        ThreatCmd::Attributes(a) => attributes(a),
        ThreatCmd::Import(a) => import(a),
        ThreatCmd::Export(a) => export(a),
        ThreatCmd::Schema => emit(
            &format!("{:#}\n", palisade_threat::schema::json_schema()),
            None,
        )
        .map(|()| EXIT_CLEAN),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            EXIT_ERROR
        }
    }
}

fn level(f: FailOn) -> Level {
    match f {
        FailOn::Low => Level::Low,
        FailOn::Medium => Level::Medium,
        FailOn::High => Level::High,
        FailOn::Critical => Level::Critical,
    }
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(s: &str, sev: Level, on: bool) -> String {
    if !on {
        return s.to_string();
    }
    let code = match sev {
        Level::Critical => "1;31",
        Level::High => "31",
        Level::Medium => "33",
        Level::Low => "36",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// Standard output, or `--output`; a closed pipe is not an error.
fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    match output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            Ok(())
        }
    }
}

/// The day to check acceptances against.
fn day(at: Option<&str>) -> anyhow::Result<Day> {
    match at {
        Some(s) => {
            model::parse_date(s).with_context(|| format!("--at {s}: not a date (YYYY-MM-DD)"))
        }
        None => {
            let d = time::OffsetDateTime::now_utc().date();
            Ok((d.year(), u8::from(d.month()), d.day()))
        }
    }
}

/// The rules to apply; every error of every rules file is printed.
fn rule_set(args: &RuleArgs) -> anyhow::Result<RuleSet> {
    let mut set = if args.no_builtin_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin()
    };
    let mut failed = 0;
    for path in &args.rules {
        let loaded = rules::load_file(path).and_then(|r| set.extend(r));
        if let Err(errors) = loaded {
            failed += 1;
            for e in errors {
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} rules file(s) do not load (each problem is listed above)");
    }
    if set.rules.is_empty() {
        bail!("no rules to apply: give --rules FILE, or leave out --no-builtin-rules");
    }
    Ok(set)
}

fn load_model(path: &Path) -> anyhow::Result<Model> {
    match model::load(path) {
        Ok(m) => Ok(m),
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!(
                "{} does not load: {} problem(s), listed above (`palisade threat attributes` lists what elements and flows may say)",
                path.display(),
                errors.len()
            )
        }
    }
}

fn validate(a: ValidateArgs) -> anyhow::Result<i32> {
    let rules_ok = rule_set(&a.rules).is_ok();
    let mut bad = 0;
    for path in &a.models {
        match model::load(path) {
            Ok(m) => println!(
                "{}: valid — {} element(s), {} flow(s), {} boundary(ies), {} asset(s), {} recorded status(es){}",
                path.display(),
                m.elements.len(),
                m.flows.len(),
                m.boundaries.len(),
                m.assets.len(),
                m.threats.len(),
                if m.files.len() > 1 {
                    format!(", {} files", m.files.len())
                } else {
                    String::new()
                }
            ),
            Err(errors) => {
                bad += 1;
                for e in &errors {
                    eprintln!("{e}");
                }
                eprintln!("{}: {} problem(s)", path.display(), errors.len());
            }
        }
    }
    Ok(if bad == 0 && rules_ok {
        EXIT_CLEAN
    } else {
        EXIT_ERROR
    })
}

fn stride_letters(a: &Analysis) -> String {
    let by = a.open_by_stride();
    Stride::ALL
        .iter()
        .map(|s| format!("{} {}", s.letter(), by.get(s).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn check(a: CheckArgs) -> anyhow::Result<i32> {
    let today = day(a.at.as_deref())?;
    let set = rule_set(&a.rules)?;
    let m = load_model(&a.model)?;
    let analysis = engine::analyse(&m, &set, today);
    for s in &analysis.stale {
        let at = s
            .location
            .as_ref()
            .map(|o| format!("{}:{}: ", o.file.display(), o.line))
            .unwrap_or_default();
        eprintln!(
            "{at}warning: threats.{}: no rule raises this threat any more; remove the entry (or check the element's id)",
            s.id
        );
    }
    let text = match a.format {
        CheckFormat::Table => table(&analysis, a.all, color() && a.output.is_none()),
        CheckFormat::Json => format!("{:#}\n", report::json(&analysis)),
        CheckFormat::Sarif => format!(
            "{}\n",
            report::sarif(&m, &analysis, &set, env!("CARGO_PKG_VERSION")).to_json_pretty()
        ),
        CheckFormat::Markdown => report::markdown(&m, &analysis),
        CheckFormat::Html => report::html(&m, &analysis, &diagram::svg(&m, Some(&analysis))),
    };
    emit(&text, a.output.as_deref())?;
    let open = analysis
        .threats
        .iter()
        .filter(|t| t.status.is_open())
        .count();
    eprintln!(
        "palisade: {} threat(s), {open} open ({}), {} decided; {} rule(s) over {} element(s) and {} flow(s)",
        analysis.threats.len(),
        stride_letters(&analysis),
        analysis.threats.len() - open,
        analysis.rules,
        analysis.elements,
        analysis.flows
    );
    if let Some(f) = a.fail_on {
        let failing = analysis.open_at_least(level(f));
        if !failing.is_empty() {
            eprintln!(
                "palisade: {} open threat(s) at {} or above: mitigate, accept (with an owner and an expiry) or mark them false positives under `threats:` in the model",
                failing.len(),
                level(f)
            );
            return Ok(EXIT_FINDINGS);
        }
    }
    Ok(EXIT_CLEAN)
}

fn table(a: &Analysis, all: bool, color: bool) -> String {
    let rows: Vec<Vec<String>> = a
        .threats
        .iter()
        .filter(|t| all || t.status.is_open())
        .map(|t| {
            vec![
                paint(t.severity.as_str(), t.severity, color),
                t.stride.letter().to_string(),
                t.title.clone(),
                t.id.clone(),
                t.status.name().to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return if a.threats.is_empty() {
            "No threats raised.\n".into()
        } else {
            "No open threats (--all lists the decided ones).\n".into()
        };
    }
    crate::output::table(&["SEVERITY", "STRIDE", "THREAT", "ID", "STATUS"], &rows)
}

fn explain(a: ExplainArgs) -> anyhow::Result<i32> {
    let today = day(a.at.as_deref())?;
    let set = rule_set(&a.rules)?;
    let m = load_model(&a.model)?;
    let analysis = engine::analyse(&m, &set, today);
    if let Some(t) = analysis.get(&a.id) {
        if a.format == TextFormat::Json {
            emit(&format!("{:#}\n", serde_json::to_value(t)?), None)?;
            return Ok(EXIT_CLEAN);
        }
        let rule = set.get(&t.rule);
        let mut out = String::new();
        out.push_str(&format!("{} — {}\n\n", t.id, t.title));
        let at = t
            .location
            .as_ref()
            .map(|o| format!(", {}:{}", o.file.display(), o.line))
            .unwrap_or_default();
        out.push_str(&format!("  Category:   {}\n", t.stride.title()));
        out.push_str(&format!(
            "  On:         {} `{}` ({}){at}\n",
            t.target.kind, t.target.id, t.target.name
        ));
        out.push_str(&format!(
            "  Severity:   {} = likelihood {} × impact {}{}\n",
            t.severity,
            t.likelihood,
            t.impact,
            match rule.map(|r| r.impact) {
                Some(rules::Impact::Data) => format!(
                    " (impact from the {} of the data involved)",
                    t.stride.data_properties().join(" and ")
                ),
                _ => String::new(),
            }
        ));
        if let Some(r) = rule {
            out.push_str(&format!(
                "  Rule:       {} ({}:{})\n",
                r.id,
                r.file.display(),
                r.line
            ));
        }
        out.push_str(&format!("  Condition:  {}\n", t.condition));
        out.push_str("  Matched:\n");
        for mt in &t.matched {
            let v = if mt.value.is_null() {
                "(not set)".to_string()
            } else {
                mt.value.to_string()
            };
            out.push_str(&format!("    {} = {v}\n", mt.attribute));
        }
        out.push_str(&format!("  Why:        {}\n", t.rationale));
        if !t.mitigations.is_empty() {
            out.push_str("  Mitigate:\n");
            for mi in &t.mitigations {
                out.push_str(&format!("    - {mi}\n"));
            }
        }
        let refs: Vec<String> =
            t.cwe
                .iter()
                .map(|c| format!("CWE-{c} https://cwe.mitre.org/data/definitions/{c}.html"))
                .chain(t.capec.iter().map(|c| {
                    format!("CAPEC-{c} https://capec.mitre.org/data/definitions/{c}.html")
                }))
                .collect();
        if !refs.is_empty() {
            out.push_str("  References:\n");
            for r in refs {
                out.push_str(&format!("    {r}\n"));
            }
        }
        let status = match &t.status {
            ThreatStatus::Open {
                acceptance_expired: Some(d),
            } => format!("open — the acceptance expired on {d}"),
            ThreatStatus::Open { .. } => "open".to_string(),
            ThreatStatus::Mitigated { mitigation } => format!("mitigated: {mitigation}"),
            ThreatStatus::Accepted {
                owner,
                reason,
                expires,
            } => format!("accepted by {owner} until {expires}: {reason}"),
            ThreatStatus::FalsePositive { reason } => format!("false positive: {reason}"),
        };
        out.push_str(&format!("  Status:     {status}\n"));
        if t.status.is_open() {
            out.push_str(&format!(
                "\nTo record a decision, add under `threats:` in the model one of:\n  {id}: {{ status: mitigated, mitigation: \"what was done\" }}\n  {id}: {{ status: accepted, owner: NAME, reason: \"why\", expires: YYYY-MM-DD }}\n  {id}: {{ status: false-positive, reason: \"why it does not apply\" }}\nor state the control on the element (the matched attributes above) so the rule no longer applies.\n",
                id = t.id
            ));
        }
        emit(&out, None)?;
        return Ok(EXIT_CLEAN);
    }
    // A rule id alone, or a rule on an element it did not fire on.
    let (rule_id, target) = match a.id.split_once('@') {
        Some((r, t)) => (r, Some(t)),
        None => (a.id.as_str(), None),
    };
    let Some(rule) = set.get(rule_id) else {
        let hint = model::suggest(
            &a.id,
            analysis
                .threats
                .iter()
                .map(|t| t.id.as_str())
                .chain(set.rules.iter().map(|r| r.id.as_str())),
        )
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
        bail!(
            "no threat or rule `{}` in {}{hint}; `palisade threat check` lists the threats, `palisade threat rules` the rules",
            a.id,
            a.model.display()
        );
    };
    let mut out = format!(
        "{} — {}\n  Category:   {}\n  Applies to: {}\n  Condition:  {}\n  Likelihood: {}\n  Why:        {}\n",
        rule.id,
        rule.title,
        rule.stride.title(),
        engine::describe_targets(&rule.targets),
        rule.when,
        rule.likelihood,
        rule.rationale
    );
    match target {
        None => {
            let raised: Vec<&str> = analysis
                .threats
                .iter()
                .filter(|t| t.rule == rule.id)
                .map(|t| t.target.id.as_str())
                .collect();
            out.push_str(&format!(
                "  Raised on:  {}\n",
                if raised.is_empty() {
                    "nothing in this model".to_string()
                } else {
                    raised.join(", ")
                }
            ));
        }
        Some(t) => {
            let ctx = engine::contexts(&m);
            let (root, known) = if rule.targets_flows() {
                (
                    ctx.flows.get(t).map(|v| serde_json::json!({ "flow": v })),
                    m.flows.contains_key(t),
                )
            } else {
                let fits = m
                    .elements
                    .get(t)
                    .is_some_and(|e| rule.targets.iter().any(|k| k.matches(e.kind)));
                if m.elements.contains_key(t) && !fits {
                    bail!(
                        "rule {} applies to {}; `{t}` is a {}",
                        rule.id,
                        engine::describe_targets(&rule.targets),
                        m.elements[t].kind.as_str()
                    );
                }
                (
                    ctx.elements
                        .get(t)
                        .map(|v| serde_json::json!({ "element": v })),
                    m.elements.contains_key(t),
                )
            };
            let Some(root) = root.filter(|_| known) else {
                let hint = model::suggest(&a.id, analysis.threats.iter().map(|x| x.id.as_str()))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                bail!(
                    "no {} `{t}` in {}{hint}",
                    if rule.targets_flows() {
                        "flow"
                    } else {
                        "element"
                    },
                    a.model.display()
                );
            };
            let mut trace = Vec::new();
            rule.expr.eval(&root, &mut trace);
            out.push_str(&format!(
                "\nNot raised on `{t}`: the condition is false there. It read:\n"
            ));
            for (name, v) in trace {
                let v = if v.is_null() {
                    "(not set)".to_string()
                } else {
                    v.to_string()
                };
                out.push_str(&format!("    {name} = {v}\n"));
            }
        }
    }
    emit(&out, None)?;
    Ok(EXIT_CLEAN)
}

fn diagram(a: DiagramArgs) -> anyhow::Result<i32> {
    let m = load_model(&a.model)?;
    let analysis = if a.no_threats {
        None
    } else {
        let set = rule_set(&a.rules)?;
        Some(engine::analyse(&m, &set, day(a.at.as_deref())?))
    };
    let by_extension = a
        .output
        .as_deref()
        .and_then(|p| p.extension())
        .is_some_and(|e| e == "dot" || e == "gv");
    let format = a.format.unwrap_or(if by_extension {
        DiagramFormat::Dot
    } else {
        DiagramFormat::Svg
    });
    let text = match format {
        DiagramFormat::Svg => diagram::svg(&m, analysis.as_ref()),
        DiagramFormat::Dot => diagram::dot(&m, analysis.as_ref()),
    };
    emit(&text, a.output.as_deref())?;
    if let Some(p) = &a.output {
        eprintln!(
            "palisade: wrote {} ({} element(s), {} flow(s), {} boundary(ies))",
            p.display(),
            m.elements.len(),
            m.flows.len(),
            m.boundaries.len()
        );
    }
    Ok(EXIT_CLEAN)
}

/// The model at `rev` in the git repository around `path`, includes read at the same revision.
fn load_at_revision(path: &Path, rev: &str) -> anyhow::Result<Model> {
    let abs =
        std::fs::canonicalize(path).with_context(|| format!("cannot find {}", path.display()))?;
    let dir = abs.parent().unwrap_or(Path::new("/"));
    let repo = git2::Repository::discover(dir)
        .with_context(|| format!("{} is not in a git repository", path.display()))?;
    let workdir = repo
        .workdir()
        .context("the repository has no working tree")?;
    let workdir = std::fs::canonicalize(workdir)?;
    let rel = abs
        .strip_prefix(&workdir)
        .context("the model is outside the repository's working tree")?
        .to_path_buf();
    let tree = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_tree())
        .with_context(|| format!("`{rev}` is not a revision of {}", workdir.display()))?;
    let read = |p: &Path| -> Result<String, String> {
        let entry = tree.get_path(p).map_err(|_| format!("not in {rev}"))?;
        let blob = repo
            .find_blob(entry.id())
            .map_err(|_| format!("not a file in {rev}"))?;
        if blob.size() as u64 > model::MAX_FILE_BYTES {
            return Err(format!(
                "{} bytes; a model file may be at most {}",
                blob.size(),
                model::MAX_FILE_BYTES
            ));
        }
        String::from_utf8(blob.content().to_vec()).map_err(|_| "not UTF-8 text".to_string())
    };
    match model::load_with(&rel, &read) {
        Ok(m) => Ok(m),
        Err(errors) => {
            for e in &errors {
                eprintln!("{rev}:{e}");
            }
            bail!(
                "{} at {rev} does not load: {} problem(s), listed above",
                rel.display(),
                errors.len()
            )
        }
    }
}

fn run_diff(a: DiffArgs) -> anyhow::Result<i32> {
    let today = day(a.at.as_deref())?;
    let set = rule_set(&a.rules)?;
    let (old, new) = match (&a.git, a.models.as_slice()) {
        (Some(rev), [one]) => (load_at_revision(one, rev)?, load_model(one)?),
        (Some(_), _) => bail!(
            "with --git REV, give one model file (its version at REV is compared with the working tree's)"
        ),
        (None, [old, new]) => (load_model(old)?, load_model(new)?),
        (None, _) => bail!("give two model files (OLD NEW), or one with --git REV"),
    };
    let d = diff::diff(
        &engine::analyse(&old, &set, today),
        &engine::analyse(&new, &set, today),
    );
    let text = match a.format {
        DiffFormat::Text => diff::text(&d),
        DiffFormat::Markdown => diff::markdown(&d),
        DiffFormat::Json => format!("{:#}\n", diff::json(&d)),
    };
    emit(&text, None)?;
    if let Some(f) = a.fail_on {
        let opened = d.newly_open_at_least(level(f));
        if !opened.is_empty() {
            eprintln!(
                "palisade: the change leaves {} threat(s) open at {} or above that were not before",
                opened.len(),
                level(f)
            );
            return Ok(EXIT_FINDINGS);
        }
    }
    Ok(EXIT_CLEAN)
}

fn list_rules(a: RulesListArgs) -> anyhow::Result<i32> {
    let set = rule_set(&a.rules)?;
    let stride = match a.stride.as_deref() {
        None => None,
        Some(s) => Some(
            Stride::ALL
                .into_iter()
                .find(|x| x.as_str() == s)
                .with_context(|| {
                    format!(
                        "--stride {s}: one of {}",
                        Stride::ALL.map(|x| x.as_str()).join(", ")
                    )
                })?,
        ),
    };
    let rules: Vec<&rules::Rule> = set
        .rules
        .iter()
        .filter(|r| stride.is_none_or(|s| r.stride == s))
        .collect();
    let text = match a.format {
        RulesFormat::Json => format!("{:#}\n", serde_json::to_value(&rules)?),
        RulesFormat::Markdown => {
            let mut out = String::from(
                "| Rule | STRIDE | Applies to | Likelihood | Title |\n|---|---|---|---|---|\n",
            );
            for r in &rules {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    r.id,
                    r.stride.title(),
                    engine::describe_targets(&r.targets),
                    r.likelihood,
                    report::md_cell(&r.title)
                ));
            }
            out
        }
        RulesFormat::Table => {
            let rows: Vec<Vec<String>> = rules
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.stride.letter().to_string(),
                        engine::describe_targets(&r.targets),
                        r.title.clone(),
                    ]
                })
                .collect();
            crate::output::table(&["RULE", "STRIDE", "APPLIES TO", "TITLE"], &rows)
        }
    };
    emit(&text, None)?;
    Ok(EXIT_CLEAN)
}

fn import(a: ImportArgs) -> anyhow::Result<i32> {
    let meta =
        std::fs::metadata(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    if meta.len() > model::MAX_FILE_BYTES {
        bail!(
            "{} is {} bytes; at most {} are imported",
            a.file.display(),
            meta.len(),
            model::MAX_FILE_BYTES
        );
    }
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {} as UTF-8 text", a.file.display()))?;
    let imported = match a.from {
        ImportFormat::Otm => palisade_threat::otm::import(&a.file, &text),
        ImportFormat::Threagile => palisade_threat::threagile::import(&a.file, &text),
    };
    let imported = match imported {
        Ok(i) => i,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!(
                "{} cannot be imported: {} problem(s), listed above",
                a.file.display(),
                errors.len()
            );
        }
    };
    emit(&model::to_yaml(&imported.model), a.output.as_deref())?;
    for n in &imported.notes {
        eprintln!("palisade: note: {n}");
    }
    eprintln!(
        "palisade: imported {} element(s), {} flow(s), {} boundary(ies), {} asset(s){}; check the notes above, then `palisade threat check`",
        imported.model.elements.len(),
        imported.model.flows.len(),
        imported.model.boundaries.len(),
        imported.model.assets.len(),
        if imported.notes.is_empty() {
            String::new()
        } else {
            format!(", {} note(s)", imported.notes.len())
        }
    );
    Ok(EXIT_CLEAN)
}

fn export(a: ExportArgs) -> anyhow::Result<i32> {
    let today = day(a.at.as_deref())?;
    let set = rule_set(&a.rules)?;
    let m = load_model(&a.model)?;
    let analysis = engine::analyse(&m, &set, today);
    let text = match a.to {
        ExportFormat::Otm => palisade_threat::otm::export(&m, &analysis),
    };
    emit(&text, a.output.as_deref())?;
    Ok(EXIT_CLEAN)
}

fn attributes(a: AttributesArgs) -> anyhow::Result<i32> {
    if a.format == TextFormat::Json {
        let written: Vec<_> = ATTRIBUTES
            .iter()
            .map(|x| serde_json::json!({"name": x.name, "on": x.on.describe(), "type": x.ty.describe(), "meaning": x.doc}))
            .collect();
        let derived = |f: &[(&str, &str)]| {
            f.iter()
                .map(|(n, d)| serde_json::json!({"name": n, "meaning": d}))
                .collect::<Vec<_>>()
        };
        let v = serde_json::json!({"attributes": written, "element_fields": derived(ELEMENT_FIELDS), "flow_fields": derived(FLOW_FIELDS)});
        emit(&format!("{v:#}\n"), None)?;
        return Ok(EXIT_CLEAN);
    }
    let rows: Vec<Vec<String>> = ATTRIBUTES
        .iter()
        .map(|x| {
            vec![
                x.name.to_string(),
                x.on.describe().to_string(),
                x.ty.describe(),
                x.doc.to_string(),
            ]
        })
        .collect();
    let mut out = String::from(
        "Attributes a model may write on elements and flows (unset reads as not stated):\n\n",
    );
    out.push_str(&crate::output::table(
        &["ATTRIBUTE", "ON", "VALUES", "MEANING"],
        &rows,
    ));
    out.push_str("\nWhat rules can also read, from the model itself — `element.…`:\n\n");
    let rows: Vec<Vec<String>> = ELEMENT_FIELDS
        .iter()
        .map(|(n, d)| vec![n.to_string(), d.to_string()])
        .collect();
    out.push_str(&crate::output::table(&["FIELD", "MEANING"], &rows));
    out.push_str("\n`flow.…` (and `flow.source.…`, `flow.target.…` for its two elements):\n\n");
    let rows: Vec<Vec<String>> = FLOW_FIELDS
        .iter()
        .map(|(n, d)| vec![n.to_string(), d.to_string()])
        .collect();
    out.push_str(&crate::output::table(&["FIELD", "MEANING"], &rows));
    emit(&out, None)?;
    Ok(EXIT_CLEAN)
}
