//! `palisade maturity`: SAMM, DSOMM, NIST CSF 2.0 and BSIMM assessments, offline, and their
//! record on the server (`push`, `pull`). Argument parsing, printing and exit codes around
//! `palisade-maturity`.
//!
//! Exit codes: 0 done; 2 error: a model or answers file that does not load (the file and line
//! are named), answers made against another version of the model without
//! `--allow-version-mismatch` (what changed is listed), no assessment to report on, a command
//! that does not apply to the model (`gaps` on SAMM), a server that cannot be reached. 1 only
//! when the server refuses a push by a rule: an assessment is a picture, not a verdict. Output
//! has no colour, so `NO_COLOR` changes nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use palisade_maturity::answers::{self, AnswersFile, Assessment};
use palisade_maturity::counted;
use palisade_maturity::dsomm::Count;
use palisade_maturity::report::{self, Document, Table};
use palisade_maturity::{Evaluation, Kind, Model, csf, history, samm, svg};

use crate::deps_cmd::{EXIT_CLEAN, EXIT_ERROR};

#[derive(clap::Subcommand, Debug)]
pub enum MaturityCmd {
    /// Detect and describe model files: kind, version (the model's own, or a content hash),
    /// what they hold. Get the official files as docs/maturity.md says.
    Models(ModelsArgs),
    /// Write an answers skeleton for a model: every question or activity with its text and
    /// allowed answers as comments, each answer `~` to fill in.
    Template(TemplateArgs),
    /// Score an assessment as its model scores (SAMM: the toolbox's formulas; DSOMM: share
    /// implemented; CSF: current and target profiles; BSIMM: activities observed). Also
    /// `maturity report`: `--format markdown|html|json` for a report.
    #[command(visible_alias = "report")]
    Assess(AssessArgs),
    /// Draw the heat map as SVG: DSOMM dimension or sub-dimension × level (share implemented),
    /// SAMM practice × level, BSIMM practice × level.
    Heatmap(HeatmapArgs),
    /// What to do next: SAMM, the steps from current to target scores in phases; DSOMM, the
    /// next activities in dependency order (waves); BSIMM, open activities by level.
    Roadmap(RoadmapArgs),
    /// NIST CSF 2.0: the gaps between current and target profiles, by function and category,
    /// largest first.
    Gaps(GapsArgs),
    /// Compare two assessments: answers that changed, scores before and after.
    Diff(DiffArgs),
    /// Scores over time as an SVG line chart (overall and per function, dimension or domain).
    Progress(ProgressArgs),
    /// Propose SAMM or DSOMM answers from what the Palisade server holds — scans uploaded from
    /// CI, SBOMs per environment, threat models, on-call and alert integrations, overdue
    /// findings, security incidents and their postmortems — each with the facts and links
    /// behind it, for a person to confirm (`--yaml` prints an assessment to add).
    Evidence(crate::maturity_evidence::EvidenceArgs),
    /// Record an answers file on the server: each push is a signed event (who, when, the
    /// file); a new `confirmed_by` must name you. `--create KIND` starts the assessment first.
    Push(PushArgs),
    /// Fetch an assessment's answers file as last pushed, for `assess`, `heatmap`, `roadmap`,
    /// `diff` and `progress` with your model file.
    Pull(PullArgs),
}

#[derive(clap::Args, Debug)]
pub struct PushArgs {
    /// The answers file (YAML).
    file: PathBuf,
    /// The assessment on the server (`payments-samm`).
    #[arg(long)]
    name: String,
    /// Start the assessment for this kind of model if it does not exist yet.
    #[arg(long, value_enum)]
    create: Option<KindArg>,
    #[command(flatten)]
    client: crate::client::ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct PullArgs {
    /// The assessment on the server (name or id).
    name: String,
    /// Write here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    client: crate::client::ClientArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindArg {
    /// OWASP SAMM v2: a directory of the core model's YAML.
    Samm,
    /// OWASP DSOMM: its generated `model.yaml`.
    Dsomm,
    /// NIST CSF 2.0: the OSCAL catalog (JSON).
    Csf,
    /// BSIMM: an activity file you provide (format in docs/maturity.md).
    Bsimm,
}

impl KindArg {
    pub fn kind(self) -> Kind {
        match self {
            KindArg::Samm => Kind::Samm,
            KindArg::Dsomm => Kind::Dsomm,
            KindArg::Csf => Kind::Csf,
            KindArg::Bsimm => Kind::Bsimm,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned tables for a terminal.
    Table,
    /// Everything, for scripts.
    Json,
    /// For a pull request or a wiki.
    Markdown,
    /// A standalone HTML page (no scripts), with the heat map where the model has one.
    Html,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffFormat {
    /// Aligned tables.
    Text,
    /// For a pull-request comment.
    Markdown,
    /// For scripts.
    Json,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByArg {
    /// One row per dimension.
    Dimension,
    /// One row per sub-dimension.
    SubDimension,
}

/// The model and the answers assessed against it.
#[derive(clap::Args, Debug)]
pub struct Inputs {
    /// The model: a SAMM model directory, DSOMM's model.yaml, the CSF 2.0 OSCAL catalog (JSON)
    /// or a BSIMM activity file.
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// The model's kind, when detection should not decide.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Answers files (YAML, from `palisade maturity template`); repeat for several. Their
    /// assessments form one history, ordered by date.
    #[arg(long = "answers", value_name = "FILE", required = true)]
    answers: Vec<PathBuf>,
    /// Only the assessments of this team (the `team:` of an assessment).
    #[arg(long, value_name = "NAME")]
    team: Option<String>,
    /// Use answers made against another version of the model: answers to items the model no
    /// longer has are left out, new items count as unanswered (what changed is printed).
    #[arg(long)]
    allow_version_mismatch: bool,
}

#[derive(clap::Args, Debug)]
pub struct ModelsArgs {
    /// Model paths: SAMM directories, DSOMM model.yaml, CSF catalog JSON, BSIMM activity files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The kind of every path, when detection should not decide.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    format: TextFormat,
}

#[derive(clap::Args, Debug)]
pub struct TemplateArgs {
    /// The model to make the answers skeleton for.
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// The model's kind, when detection should not decide.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Write the skeleton to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite `--output` if it exists (answers are not overwritten by accident).
    #[arg(long)]
    force: bool,
    /// The assessment's date (YYYY-MM-DD; default today, UTC).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// The team the assessment is for.
    #[arg(long, value_name = "NAME")]
    team: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct AssessArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Report the latest assessment on or before this date (YYYY-MM-DD; default the latest).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct HeatmapArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The latest assessment on or before this date (YYYY-MM-DD; default the latest).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// DSOMM: rows by dimension or by sub-dimension.
    #[arg(long, value_enum, default_value_t = ByArg::SubDimension)]
    by: ByArg,
    /// Write the SVG to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct RoadmapArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The latest assessment on or before this date (YYYY-MM-DD; default the latest).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// SAMM: a practice's target score, `PRACTICE=SCORE` (practice by key `G-SM`, short name
    /// `SM` or name; score 0–3); repeat for several.
    #[arg(long = "target", value_name = "PRACTICE=SCORE")]
    targets: Vec<String>,
    /// SAMM: the target score of every practice not named by `--target`.
    #[arg(long, value_name = "SCORE")]
    target_all: Option<f64>,
    /// SAMM: the number of phases to reach the targets in; DSOMM: the number of waves shown.
    #[arg(long, default_value_t = 3, value_name = "N")]
    phases: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write the roadmap to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct GapsArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The latest assessment on or before this date (YYYY-MM-DD; default the latest).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The earlier assessment's date (default: the one before the latest).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// The later assessment's date (default: the latest).
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
}

#[derive(clap::Args, Debug)]
pub struct ProgressArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Write the SVG to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Run a `palisade maturity` command; returns the exit code.
pub fn run(cmd: MaturityCmd) -> i32 {
    let result = match cmd {
        MaturityCmd::Models(a) => models(a),
        MaturityCmd::Template(a) => template(a),
        MaturityCmd::Assess(a) => assess(a),
        MaturityCmd::Heatmap(a) => heatmap(a),
        MaturityCmd::Roadmap(a) => roadmap(a),
        MaturityCmd::Gaps(a) => gaps(a),
        MaturityCmd::Diff(a) => diff(a),
        MaturityCmd::Progress(a) => progress(a),
        MaturityCmd::Evidence(a) => crate::maturity_evidence::run(a),
        MaturityCmd::Push(a) => on_server(push(a)),
        MaturityCmd::Pull(a) => on_server(pull(a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(refusal) = e.downcast_ref::<crate::client::Refused>() {
                eprintln!("refused: {refusal}");
                return crate::deps_cmd::EXIT_FINDINGS;
            }
            eprintln!("palisade: error: {e:#}");
            EXIT_ERROR
        }
    }
}

/// Run a server call to its end.
fn on_server(f: impl std::future::Future<Output = anyhow::Result<i32>>) -> anyhow::Result<i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(f)
}

async fn push(a: PushArgs) -> anyhow::Result<i32> {
    use palisade_server::routes::assessments::AssessmentView;
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))?;
    // Read here first, so a mistake is named with this file's path and line.
    let parsed = answers::parse(&a.file, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let c = crate::client::Client::new(&a.client)?;
    let path = format!("/api/v1/assessments/{}", crate::client::seg(&a.name));
    if let Some(kind) = a.create {
        let exists = c
            .request(reqwest::Method::GET, &path)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if !exists {
            let _: AssessmentView = c
                .post(
                    "/api/v1/assessments",
                    &serde_json::json!({"name": a.name, "kind": kind.kind().as_str()}),
                )
                .await?;
        }
    }
    let v: AssessmentView = c
        .post(
            &format!("{path}/records"),
            &serde_json::json!({"file": text}),
        )
        .await?;
    let last = v.records.last();
    match a.client.format {
        crate::Format::Json => println!("{}", crate::output::json(&v)),
        crate::Format::Table => eprintln!(
            "palisade: recorded push {} of {} ({} assessment(s), newest {}, model {} {}); sha256 {}",
            v.records.len(),
            v.name,
            parsed.assessments.len(),
            last.and_then(|r| r.latest.as_deref()).unwrap_or("—"),
            parsed.model.kind.title(),
            parsed.model.version,
            last.map(|r| r.sha256.as_str()).unwrap_or("")
        ),
    }
    Ok(EXIT_CLEAN)
}

async fn pull(a: PullArgs) -> anyhow::Result<i32> {
    let c = crate::client::Client::new(&a.client)?;
    let path = format!("/api/v1/assessments/{}/file", crate::client::seg(&a.name));
    let resp = c
        .request(reqwest::Method::GET, &path)
        .send()
        .await
        .with_context(|| format!("cannot reach the server for {path}"))?;
    if !resp.status().is_success() {
        return Err(crate::client::problem_error(resp, &path).await);
    }
    let text = resp.text().await.context("reading the answers file")?;
    emit(&text, a.output.as_deref())?;
    Ok(EXIT_CLEAN)
}

/// Standard output, or `--output`; a closed pipe is not an error.
fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    match output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("palisade: wrote {}", p.display());
            Ok(())
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            Ok(())
        }
    }
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn check_day(flag: &str, d: &str) -> anyhow::Result<()> {
    if !palisade_maturity::source::valid_day(d) {
        bail!("{flag} {d}: not a date (YYYY-MM-DD)");
    }
    Ok(())
}

fn load_model(path: &Path, kind: Option<KindArg>) -> anyhow::Result<Model> {
    palisade_maturity::load(path, kind.map(KindArg::kind)).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A model, its answers files checked against it, and whether unknown ids are tolerated.
struct Loaded {
    model: Model,
    files: Vec<AnswersFile>,
    allow_unknown: bool,
}

impl Loaded {
    /// The assessments in date order, of `team` when given. Without `--team`, answers of
    /// several teams are refused: the latest of one team is not another's.
    fn timeline(&self, team: Option<&str>) -> anyhow::Result<Vec<&Assessment>> {
        let all = answers::timeline(&self.files, team);
        if team.is_none() {
            let mut teams: Vec<Option<&str>> = all.iter().map(|a| a.team.as_deref()).collect();
            teams.sort();
            teams.dedup();
            if teams.len() > 1 {
                bail!(
                    "the answers hold assessments of several teams ({}); choose one with --team NAME",
                    teams
                        .iter()
                        .map(|t| t.unwrap_or("(no team)"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        Ok(all)
    }

    fn evaluate(&self, a: &Assessment) -> anyhow::Result<Evaluation> {
        self.model
            .evaluate(a, self.allow_unknown)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn load_inputs(i: &Inputs) -> anyhow::Result<Loaded> {
    let model = load_model(&i.model, i.kind)?;
    let ids = model.ids();
    let mut files = Vec::new();
    let mut mismatched = false;
    for p in &i.answers {
        let f = answers::load(p).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(m) = answers::compare(&f, model.kind(), model.version(), &ids)
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            if !i.allow_version_mismatch {
                eprintln!("{m}");
                bail!(
                    "{}: made against another version of the model; review what changed (above), then update `model.version` in the file or pass --allow-version-mismatch",
                    p.display()
                );
            }
            eprintln!("palisade: warning: {m}");
            mismatched = true;
        }
        files.push(f);
    }
    Ok(Loaded {
        model,
        files,
        allow_unknown: mismatched,
    })
}

/// The latest assessment on or before `at`.
fn pick<'a>(l: &'a Loaded, team: Option<&str>, at: Option<&str>) -> anyhow::Result<&'a Assessment> {
    if let Some(d) = at {
        check_day("--at", d)?;
    }
    let all = l.timeline(team)?;
    all.iter()
        .rev()
        .find(|a| at.is_none_or(|d| a.date.as_str() <= d))
        .copied()
        .with_context(|| {
            format!(
                "no assessment{}{} in the answers given",
                team.map(|t| format!(" of team {t}")).unwrap_or_default(),
                at.map(|d| format!(" on or before {d}")).unwrap_or_default()
            )
        })
}

fn models(a: ModelsArgs) -> anyhow::Result<i32> {
    let mut infos = Vec::new();
    let mut failed = 0;
    for p in &a.paths {
        match load_model(p, a.kind) {
            Ok(m) => infos.push(m.info()),
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    let text = match a.format {
        TextFormat::Json => format!("{:#}\n", serde_json::to_value(&infos)?),
        TextFormat::Text => {
            let mut out = String::new();
            for i in &infos {
                out.push_str(&format!(
                    "{}\n  kind:    {} ({})\n  title:   {}\n  version: {} ({})\n",
                    i.path.display(),
                    i.kind,
                    i.kind.title(),
                    i.title,
                    i.version,
                    if i.version_source == "model" {
                        "stated by the model"
                    } else {
                        "content hash: the model states no version"
                    }
                ));
                for (what, n) in &i.counts {
                    out.push_str(&format!("  {what}: {n}\n"));
                }
            }
            out
        }
    };
    emit(&text, None)?;
    Ok(if failed == 0 { EXIT_CLEAN } else { EXIT_ERROR })
}

fn template(a: TemplateArgs) -> anyhow::Result<i32> {
    let date = a.date.clone().unwrap_or_else(today);
    check_day("--date", &date)?;
    let m = load_model(&a.model, a.kind)?;
    if let Some(p) = &a.output
        && p.exists()
        && !a.force
    {
        bail!(
            "{} exists; add a new assessment to it by hand, or pass --force to overwrite it",
            p.display()
        );
    }
    let text = m.template(&date, a.team.as_deref());
    emit(&text, a.output.as_deref())?;
    if a.output.is_some() {
        eprintln!(
            "palisade: {} items of {} {} to answer; then `palisade maturity assess --model {} --answers FILE`",
            m.ids().len(),
            m.kind(),
            m.version(),
            a.model.display()
        );
    }
    Ok(EXIT_CLEAN)
}

fn f2(v: f64) -> String {
    report::fixed2(v)
}

fn pct(c: &Count) -> String {
    match c.share() {
        Some(s) => format!("{:.0} %", s * 100.0),
        None => "–".into(),
    }
}

fn head(m: &Model, a: &Assessment, title: &str) -> Document {
    let mut d = Document::new(format!("{title}: {}", m.kind().title()));
    d.facts
        .push(("Model".into(), format!("{} {}", m.kind(), m.version())));
    d.facts.push(("Assessment".into(), a.label()));
    if let Some(by) = &a.by {
        d.facts.push(("Answered by".into(), by.clone()));
    }
    d
}

/// A heat map's title, rows, columns and cells.
fn assess_document(m: &Model, a: &Assessment, ev: &Evaluation) -> Document {
    let mut d = head(m, a, "Maturity assessment");
    match ev {
        Evaluation::Samm { scores, .. } => {
            d.facts
                .push(("Overall score (0–3)".into(), f2(scores.overall)));
            d.facts.push((
                "Answered".into(),
                format!(
                    "{} of {} questions (unanswered count 0, as in the toolbox)",
                    scores.answered, scores.questions
                ),
            ));
            let mut t = Table::new("Business functions", &["FUNCTION", "SCORE"]);
            for f in &scores.functions {
                t.rows.push(vec![f.name.clone(), f2(f.score)]);
            }
            d.tables.push(t);
            let mut t = Table::new(
                "Security practices",
                &[
                    "PRACTICE", "", "SCORE", "LEVEL 1", "LEVEL 2", "LEVEL 3", "STREAM A",
                    "STREAM B",
                ],
            );
            for f in &scores.functions {
                for p in &f.practices {
                    let mut row = vec![p.key.clone(), p.name.clone(), f2(p.score)];
                    row.extend(p.levels.iter().map(|v| f2(*v)));
                    row.extend(p.streams.iter().map(|s| f2(s.score)));
                    t.rows.push(row);
                }
            }
            d.tables.push(t);
            d.notes.push("Scores as the OWASP SAMM toolbox computes them: a practice is the sum over its levels of the average of its streams' answers; a function the average of its practices; overall the average of the functions.".into());
        }
        Evaluation::Dsomm { scores, .. } => {
            d.facts.push((
                "Implemented".into(),
                format!("{} ({})", counted(&scores.overall), pct(&scores.overall)),
            ));
            let mut t = Table::new("Levels", &["LEVEL", "IMPLEMENTED", "SHARE"]);
            for (i, c) in scores.levels.iter().enumerate() {
                t.rows.push(vec![(i + 1).to_string(), counted(c), pct(c)]);
            }
            d.tables.push(t);
            let mut t = Table::new(
                "Dimensions",
                &[
                    "DIMENSION",
                    "SUB-DIMENSION",
                    "IMPLEMENTED",
                    "SHARE",
                    "LEVEL REACHED",
                ],
            );
            for dim in &scores.dimensions {
                t.rows.push(vec![
                    dim.name.clone(),
                    String::new(),
                    counted(&dim.count),
                    pct(&dim.count),
                    String::new(),
                ]);
                for s in &dim.subdimensions {
                    t.rows.push(vec![
                        String::new(),
                        s.name.clone(),
                        counted(&s.count),
                        pct(&s.count),
                        s.level_reached.to_string(),
                    ]);
                }
            }
            d.tables.push(t);
            if let Model::Dsomm(dm) = m {
                d.tables.push(progress_table(dm, a));
            }
            d.notes.push("Share implemented among applicable activities (not-applicable ones left out); a sub-dimension's level reached is the highest level up to which every applicable activity is implemented.".into());
        }
        Evaluation::Csf { report, .. } => {
            csf_facts(&mut d, report);
            d.tables.push(csf_table(report));
        }
        Evaluation::Bsimm { scores, .. } => {
            d.facts
                .push(("Activities observed".into(), counted(&scores.observed)));
            let mut t = Table::new("Domains", &["DOMAIN", "OBSERVED", "SHARE"]);
            for (name, c) in &scores.domains {
                t.rows.push(vec![name.clone(), counted(c), pct(c)]);
            }
            d.tables.push(t);
            let mut t = Table::new(
                "Practices",
                &["DOMAIN", "PRACTICE", "OBSERVED", "HIGH-WATER MARK"],
            );
            for p in &scores.practices {
                t.rows.push(vec![
                    p.domain.clone(),
                    p.practice.clone(),
                    counted(&p.count),
                    p.high_water_mark.to_string(),
                ]);
            }
            d.tables.push(t);
        }
    }
    d
}

/// Each answered activity with its status, since when and by whom (the team's progress).
fn progress_table(m: &palisade_maturity::dsomm::Model, a: &Assessment) -> Table {
    let mut t = Table::new("Progress", &["STATUS", "SINCE", "BY", "LEVEL", "ACTIVITY"]);
    let mut rows: Vec<(u8, Vec<String>)> = Vec::new();
    for act in m.activities() {
        let Some(ans) = a.given(&act.uuid) else {
            continue;
        };
        let status = match &ans.given {
            answers::Given::Text(s) => palisade_maturity::dsomm::Status::parse(s),
            _ => None,
        };
        let Some(status) = status else { continue };
        let rank = match status {
            palisade_maturity::dsomm::Status::InProgress => 0,
            palisade_maturity::dsomm::Status::Planned => 1,
            palisade_maturity::dsomm::Status::Implemented => 2,
            palisade_maturity::dsomm::Status::NotApplicable => 3,
        };
        rows.push((
            rank,
            vec![
                status.as_str().to_string(),
                ans.date.clone().unwrap_or_default(),
                ans.by.clone().unwrap_or_default(),
                act.level.to_string(),
                act.name.clone(),
            ],
        ));
    }
    rows.sort_by_key(|(r, _)| *r);
    t.rows = rows.into_iter().map(|(_, r)| r).collect();
    t
}

fn csf_facts(d: &mut Document, r: &csf::GapReport) {
    if let Some(t) = r.tier {
        let f = |x: Option<u8>| {
            x.map(|x| format!("{x} {}", csf::tier_name(x)))
                .unwrap_or_else(|| "–".into())
        };
        d.facts.push((
            "Tier (current → target)".into(),
            format!("{} → {}", f(t.current), f(t.target)),
        ));
    }
    let o = &r.overall;
    d.facts.push((
        "Profile (current → target, 0–4)".into(),
        format!(
            "{} → {} over {} of {} subcategories assessed; {} below target",
            o.current.map(f2).unwrap_or_else(|| "–".into()),
            o.target.map(f2).unwrap_or_else(|| "–".into()),
            o.assessed,
            o.subcategories,
            o.with_gap
        ),
    ));
}

fn csf_table(r: &csf::GapReport) -> Table {
    let mut t = Table::new(
        "Functions and categories",
        &[
            "ID",
            "TITLE",
            "ASSESSED",
            "CURRENT",
            "TARGET",
            "GAP",
            "BELOW TARGET",
        ],
    );
    let opt = |x: Option<f64>| x.map(f2).unwrap_or_else(|| "–".into());
    for f in &r.functions {
        let row = |id: &str, title: &str, g: &csf::Figure| {
            vec![
                id.to_string(),
                title.to_string(),
                format!("{}/{}", g.assessed, g.subcategories),
                opt(g.current),
                opt(g.target),
                opt(g.gap()),
                g.with_gap.to_string(),
            ]
        };
        t.rows.push(row(&f.id, &f.title, &f.figure));
        for c in &f.categories {
            t.rows
                .push(row(&format!("  {}", c.id), &c.title, &c.figure));
        }
    }
    t
}

fn render(d: &Document, format: ReportFormat, json: serde_json::Value) -> String {
    match format {
        ReportFormat::Table => report::text(d),
        ReportFormat::Markdown => report::markdown(d),
        ReportFormat::Html => report::html(d),
        ReportFormat::Json => format!("{json:#}\n"),
    }
}

fn assess(a: AssessArgs) -> anyhow::Result<i32> {
    let l = load_inputs(&a.inputs)?;
    let asmt = pick(&l, a.inputs.team.as_deref(), a.at.as_deref())?;
    let ev = l.evaluate(asmt)?;
    let pending = palisade_maturity::evidence::unconfirmed(asmt);
    if !pending.is_empty() {
        eprintln!(
            "palisade: {} answer(s) proposed by Palisade are not confirmed and count as unanswered: {} (add confirmed_by and confirmed_at to each you agree with)",
            pending.len(),
            pending.join(", ")
        );
    }
    let mut d = assess_document(&l.model, asmt, &ev);
    if a.format == ReportFormat::Html
        && let Some(palisade_maturity::Heat {
            title,
            rows,
            columns: cols,
            cells,
        }) = l.model.heat(&ev, true)
    {
        d.figure = Some(svg::heatmap(&title, &rows, &cols, &cells));
    }
    let json = serde_json::json!({
        "model": l.model.info(),
        "assessment": { "date": asmt.date, "team": asmt.team, "by": asmt.by, "file": asmt.file, "answers": asmt.answers },
        "evaluation": ev,
        "unconfirmed": pending,
    });
    emit(&render(&d, a.format, json), a.output.as_deref())?;
    Ok(EXIT_CLEAN)
}

fn heatmap(a: HeatmapArgs) -> anyhow::Result<i32> {
    let l = load_inputs(&a.inputs)?;
    let asmt = pick(&l, a.inputs.team.as_deref(), a.at.as_deref())?;
    let ev = l.evaluate(asmt)?;
    let Some(palisade_maturity::Heat {
        title,
        rows,
        columns: cols,
        cells,
    }) = l.model.heat(&ev, a.by == ByArg::SubDimension)
    else {
        bail!(
            "NIST CSF has no levels to map; `palisade maturity gaps` reports current against target profiles"
        );
    };
    let title = format!("{title} — {}", asmt.label());
    emit(
        &svg::heatmap(&title, &rows, &cols, &cells),
        a.output.as_deref(),
    )?;
    Ok(EXIT_CLEAN)
}

fn parse_targets(m: &samm::Model, a: &RoadmapArgs) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let check = |what: &str, v: f64| -> anyhow::Result<f64> {
        if !(0.0..=3.0).contains(&v) {
            bail!("{what}: a SAMM target score is 0–3");
        }
        Ok(v)
    };
    if let Some(all) = a.target_all {
        let all = check("--target-all", all)?;
        for (_, p) in m.practices() {
            out.insert(p.key.clone(), all);
        }
    }
    for t in &a.targets {
        let (name, score) = t
            .split_once('=')
            .with_context(|| format!("--target {t}: write PRACTICE=SCORE, e.g. G-SM=2"))?;
        let p = m.practice(name.trim()).with_context(|| {
            let hint = answers::suggest(name.trim(), m.practices().map(|(_, p)| p.key.as_str()))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            format!(
                "--target {t}: no practice `{name}`{hint}; practices: {}",
                m.practices()
                    .map(|(_, p)| p.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let v: f64 = score
            .trim()
            .parse()
            .with_context(|| format!("--target {t}: `{score}` is not a number"))?;
        out.insert(p.key.clone(), check(&format!("--target {t}"), v)?);
    }
    if out.is_empty() {
        bail!("give the target scores: --target PRACTICE=SCORE (repeatable) or --target-all SCORE");
    }
    Ok(out)
}

fn roadmap(a: RoadmapArgs) -> anyhow::Result<i32> {
    if a.phases == 0 {
        bail!("--phases: at least 1");
    }
    let l = load_inputs(&a.inputs)?;
    let asmt = pick(&l, a.inputs.team.as_deref(), a.at.as_deref())?;
    let ev = l.evaluate(asmt)?;
    let mut d = head(&l.model, asmt, "Roadmap");
    let json = match (&l.model, &ev) {
        (Model::Samm(m), Evaluation::Samm { values, .. }) => {
            let targets = parse_targets(m, &a)?;
            let r = m.roadmap(values, &targets, a.phases);
            let mut t = Table::new(
                "Practices",
                &["PRACTICE", "", "CURRENT", "TARGET", "REACHED", "STEPS"],
            );
            for p in &r.practices {
                t.rows.push(vec![
                    p.key.clone(),
                    p.name.clone(),
                    f2(p.current),
                    f2(p.target),
                    f2(p.reached),
                    p.steps.len().to_string(),
                ]);
            }
            d.tables.push(t);
            for k in 1..=r.phases {
                let mut t = Table::new(
                    &format!("Phase {k} of {}", r.phases),
                    &[
                        "QUESTION",
                        "LEVEL",
                        "ACTIVITY",
                        "FROM",
                        "TO",
                        "PRACTICE SCORE",
                    ],
                );
                for (p, s) in r.phase(k) {
                    t.rows.push(vec![
                        s.question.clone(),
                        s.level.to_string(),
                        s.activity.clone(),
                        samm::fmt_value(s.from),
                        format!("{} ({})", samm::fmt_value(s.to), s.to_text),
                        format!("{} {} → {}", p.key, f2(s.score_before), f2(s.score_after)),
                    ]);
                }
                if t.rows.is_empty() {
                    t.rows.push(vec!["(nothing)".into()]);
                }
                d.tables.push(t);
            }
            for p in r.practices.iter().filter(|p| p.reached + 1e-9 < p.target) {
                d.notes.push(format!(
                    "{}: the target {} is above what the model allows; the roadmap reaches {}.",
                    p.key,
                    f2(p.target),
                    f2(p.reached)
                ));
            }
            d.notes.push("Steps follow SAMM's order (lower levels first, stream A before B); each phase brings every practice at least its share of the way to its target.".into());
            serde_json::to_value(&r)?
        }
        (Model::Dsomm(m), Evaluation::Dsomm { statuses, .. }) => {
            let plan: Vec<_> = m
                .plan(statuses)
                .into_iter()
                .filter(|p| p.wave <= a.phases as usize)
                .collect();
            for w in 1..=a.phases as usize {
                let mut t = Table::new(
                    &if w == 1 {
                        "Wave 1: ready now (every dependency implemented)".to_string()
                    } else {
                        format!("Wave {w}: once the waves before are done")
                    },
                    &["LEVEL", "ACTIVITY", "WHERE", "STATUS", "DEPENDS ON"],
                );
                for p in plan.iter().filter(|p| p.wave == w) {
                    t.rows.push(vec![
                        p.level.to_string(),
                        p.name.clone(),
                        format!("{} › {}", p.dimension, p.subdimension),
                        p.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                        p.depends_on.join("; "),
                    ]);
                }
                if !t.rows.is_empty() {
                    d.tables.push(t);
                }
            }
            let blocked = m.blocked(statuses);
            if !blocked.is_empty() {
                let mut t = Table::new(
                    "Blocked (a dependency is not applicable)",
                    &["ACTIVITY", "WAITING FOR"],
                );
                for (name, why) in &blocked {
                    t.rows.push(vec![name.clone(), why.join("; ")]);
                }
                d.tables.push(t);
            }
            serde_json::json!({ "plan": plan, "blocked": blocked })
        }
        (Model::Bsimm(m), Evaluation::Bsimm { statuses, .. }) => {
            let open: Vec<&palisade_maturity::bsimm::Activity> = m
                .activities
                .iter()
                .filter(|x| {
                    !matches!(
                        statuses.get(&x.id),
                        Some(
                            palisade_maturity::dsomm::Status::Implemented
                                | palisade_maturity::dsomm::Status::NotApplicable
                        )
                    )
                })
                .collect();
            for level in 1..=3u8 {
                let mut t = Table::new(
                    &format!("Level {level}"),
                    &["ID", "PRACTICE", "TITLE", "STATUS"],
                );
                for x in open.iter().filter(|x| x.level == level) {
                    t.rows.push(vec![
                        x.id.clone(),
                        x.practice.clone(),
                        x.title.clone(),
                        statuses
                            .get(&x.id)
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    ]);
                }
                if !t.rows.is_empty() {
                    d.tables.push(t);
                }
            }
            serde_json::to_value(&open)?
        }
        _ => bail!(
            "NIST CSF has no roadmap of its own; `palisade maturity gaps` lists the gaps to close, largest first"
        ),
    };
    emit(&render(&d, a.format, json), a.output.as_deref())?;
    Ok(EXIT_CLEAN)
}

fn gaps(a: GapsArgs) -> anyhow::Result<i32> {
    let l = load_inputs(&a.inputs)?;
    let asmt = pick(&l, a.inputs.team.as_deref(), a.at.as_deref())?;
    let ev = l.evaluate(asmt)?;
    let Evaluation::Csf { report: r, .. } = &ev else {
        bail!(
            "gaps is for NIST CSF profiles; for {} use `assess` and `roadmap`",
            l.model.kind()
        );
    };
    let mut d = head(&l.model, asmt, "Gap report");
    csf_facts(&mut d, r);
    let mut t = Table::new(
        &format!(
            "Subcategories below target ({}), largest gap first",
            r.gaps.len()
        ),
        &["ID", "CURRENT", "TARGET", "GAP", "OUTCOME"],
    );
    for g in &r.gaps {
        t.rows.push(vec![
            g.id.clone(),
            g.current.to_string(),
            g.target.to_string(),
            g.gap.to_string(),
            g.statement.clone(),
        ]);
    }
    d.tables.push(t);
    d.tables.push(csf_table(r));
    d.notes.push("Levels are Palisade's scale (0 not achieved … 4 fully achieved and improved continuously): CSF 2.0 defines profiles and tiers, not subcategory scores.".into());
    emit(
        &render(&d, a.format, serde_json::to_value(r)?),
        a.output.as_deref(),
    )?;
    Ok(EXIT_CLEAN)
}

fn diff(a: DiffArgs) -> anyhow::Result<i32> {
    let l = load_inputs(&a.inputs)?;
    let all = l.timeline(a.inputs.team.as_deref())?;
    let find = |flag: &str, d: &str| -> anyhow::Result<&Assessment> {
        check_day(flag, d)?;
        all.iter()
            .rev()
            .find(|x| x.date == d)
            .copied()
            .with_context(|| {
                format!(
                    "{flag} {d}: no assessment on that date; dates: {}",
                    all.iter()
                        .map(|x| x.date.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    };
    let after = match &a.to {
        Some(d) => find("--to", d)?,
        None => *all.last().context("no assessment in the answers given")?,
    };
    let before = match &a.from {
        Some(d) => find("--from", d)?,
        None => *all.iter().rev().find(|x| x.date < after.date).context(
            "only one assessment date: nothing to compare (add an assessment with a later date)",
        )?,
    };
    let (eb, ea) = (l.evaluate(before)?, l.evaluate(after)?);
    let d = history::diff(&l.model, (before, &eb), (after, &ea));
    let text = match a.format {
        DiffFormat::Text => history::render(&d, false),
        DiffFormat::Markdown => history::render(&d, true),
        DiffFormat::Json => format!("{:#}\n", serde_json::to_value(&d)?),
    };
    emit(&text, None)?;
    Ok(EXIT_CLEAN)
}

fn progress(a: ProgressArgs) -> anyhow::Result<i32> {
    let l = load_inputs(&a.inputs)?;
    let all = l.timeline(a.inputs.team.as_deref())?;
    if all.is_empty() {
        bail!("no assessment in the answers given");
    }
    // One point per date: the last assessment of the day.
    let mut points: Vec<(&Assessment, history::Summary)> = Vec::new();
    for x in all {
        let s = l.evaluate(x)?.summary();
        if points.last().is_some_and(|(p, _)| p.date == x.date) {
            points.pop();
        }
        points.push((x, s));
    }
    let first = &points[0].1;
    let dates: Vec<String> = points.iter().map(|(x, _)| x.date.clone()).collect();
    let mut series = vec![(
        "Overall".to_string(),
        points.iter().map(|(_, s)| s.overall).collect::<Vec<_>>(),
    )];
    for (i, (name, _)) in first.groups.iter().enumerate() {
        series.push((
            name.clone(),
            points
                .iter()
                .map(|(_, s)| s.groups.get(i).and_then(|g| g.1))
                .collect(),
        ));
    }
    let unit = match first.unit {
        history::Unit::Percent => "%",
        _ => "",
    };
    let title = format!(
        "{}: progress{}",
        l.model.kind().title(),
        a.inputs
            .team
            .as_deref()
            .map(|t| format!(" of {t}"))
            .unwrap_or_default()
    );
    emit(
        &svg::progress(&title, unit, first.max, &dates, &series),
        a.output.as_deref(),
    )?;
    Ok(EXIT_CLEAN)
}
