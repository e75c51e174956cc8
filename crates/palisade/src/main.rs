//! The `palisade` binary: command-line parsing and glue. Business logic lives in the library
//! crates; this file maps commands to them and results to output and exit codes.
//!
//! Exit codes (a contract scripts and CI rely on): 0 success / clean, 1 findings or a command
//! refused by a rule, 2 error (bad usage, unreachable server, storage or I/O failure).

/// Print to stdout, ignoring a closed pipe (`palisade … | head` must not panic).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
/// Print a line to stdout, ignoring a closed pipe.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The process's allocator is jemalloc (for the C code too: SQLite's allocations included). A
/// server's work moves between threads (async workers, the blocking pool, the database's
/// writer); glibc's malloc kept what each thread freed, in fragments, and a server's memory grew
/// for hours with a flat heap. jemalloc hands unused pages back to the system after a few
/// seconds, from a background thread (BENCHMARKS, "Alerts and paging": the 10-minute run).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod admin_cmd;
mod alert_cmd;
mod client;
mod comms_cmd;
mod config_cmd;
mod ctf_cmd;
mod delivery_cmd;
mod deps_cmd;
mod drill_cmd;
mod escalation_cmd;
mod evidence_cmd;
mod findings_cmd;
mod incident_cmd;
mod key_cmd;
mod maturity_cmd;
mod maturity_evidence;
mod output;
mod person_cmd;
mod scan_secrets;
mod schedule_cmd;
mod serve_cmd;
mod service_cmd;
mod settings;
mod team_cmd;
mod threat_cmd;
mod verify_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Palisade: DevSecOps guardrails and secure incident response in one binary.
///
/// Start the server with `palisade serve`; it prints its URL and, on first start, a one-time admin
/// token. Point the CLI at it with PALISADE_URL and PALISADE_TOKEN (or --url/--token, or a
/// client config file), then declare and run incidents with `palisade incident …`.
#[derive(Parser)]
#[command(name = "palisade", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format for commands that print results.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned text for people.
    #[default]
    Table,
    /// JSON for machines.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (HTTP API) on the embedded SQLite database or PostgreSQL.
    Serve(serve_cmd::ServeArgs),
    /// Declare and run incidents: roles, steps of the playbook, notes, status, resolution.
    #[command(subcommand)]
    Incident(incident_cmd::IncidentCmd),
    /// Evidence with a chain of custody: add (streamed, encrypted, content-addressed), list,
    /// download, hand on, and print custody reports.
    #[command(subcommand)]
    Evidence(evidence_cmd::EvidenceCmd),
    /// Verify the ledger (a data directory or PostgreSQL: hash chains, signatures, witness log),
    /// or an export bundle offline.
    Verify(verify_cmd::VerifyArgs),
    /// Services the teams own: create, list, show (with their history), rename; their
    /// integrations (routing keys for the Events API) and change events.
    #[command(subcommand)]
    Service(service_cmd::ServiceCmd),
    /// Alerts from monitoring: list, show (why each trigger was deduplicated), acknowledge,
    /// resolve.
    #[command(subcommand)]
    Alert(alert_cmd::AlertCmd),
    /// The notification delivery log (admins): pending, delivered and dead letters; resend.
    #[command(subcommand)]
    Delivery(delivery_cmd::DeliveryCmd),
    /// On-call schedules: create (from a YAML or JSON definition), show, list, who is on call,
    /// shifts of a span; layers, overrides and temporary schedules.
    #[command(subcommand)]
    Schedule(schedule_cmd::ScheduleCmd),
    /// Escalation policies: who is paged, in what order, how long after the previous level.
    #[command(subcommand)]
    Escalation(escalation_cmd::EscalationCmd),
    /// Teams: members (member or manager), renames.
    #[command(subcommand)]
    Team(team_cmd::TeamCmd),
    /// Incident-response drills: start one from a shipped scenario, release its injections,
    /// print the debrief.
    #[command(subcommand)]
    Drill(drill_cmd::DrillCmd),
    /// Playbooks: when each was last reviewed and last tested by a drill.
    #[command(subcommand)]
    Playbook(drill_cmd::PlaybookCmd),
    /// How people are reached when paged: contact methods and notification rules.
    #[command(subcommand)]
    Person(person_cmd::PersonCmd),
    /// Operator commands that need only the data directory or the database (no API):
    /// recover admin access.
    #[command(subcommand)]
    Admin(admin_cmd::AdminCmd),
    /// The ledger signing key: print its public half for verifiers.
    #[command(subcommand)]
    Key(key_cmd::KeyCmd),
    /// Create, list and revoke API tokens (admin).
    #[command(subcommand)]
    Token(incident_cmd::TokenCmd),
    /// The offline vulnerability database: OSV import, update, status.
    Db(deps_cmd::DbArgs),
    /// Scan for secrets (files, git history), known-vulnerable dependencies and images, and
    /// insecure configuration (Dockerfiles, Kubernetes manifests, compose files).
    Scan(deps_cmd::ScanArgs),
    /// Write a CycloneDX 1.6 (default) or SPDX 2.3 SBOM of lockfiles or an image.
    Sbom(deps_cmd::SbomArgs),
    /// Upload scan reports (SARIF, CycloneDX, OSV-Scanner, Palisade JSON) to a service's
    /// findings: new ones are opened, missing ones fixed, returning ones reopened.
    Upload(findings_cmd::UploadArgs),
    /// A service's findings over time: list, show, accept a risk, mark a false positive,
    /// reopen.
    #[command(subcommand)]
    Findings(findings_cmd::FindingsCmd),
    /// CTF challenges and events: check a directory of challenges, hash plain flags before
    /// sharing, import a CTFd export, see a dynamic challenge's value by solves (offline); run
    /// an event on the server: create, register teams, submit, hints, freeze, scoreboard.
    #[command(subcommand)]
    Ctf(ctf_cmd::CtfCmd),
    /// STRIDE threat models as code, offline: validate a model, find its threats (with why each
    /// was raised), explain one, diff two versions for review. Start with docs/threat-models.md.
    #[command(subcommand)]
    Threat(threat_cmd::ThreatCmd),
    /// Maturity assessments, offline: OWASP SAMM, DSOMM, NIST CSF 2.0 and BSIMM from the
    /// official model files you give; templates, scores, heat maps, roadmaps, gaps, history.
    /// Start with docs/maturity.md.
    #[command(subcommand)]
    Maturity(maturity_cmd::MaturityCmd),
    /// The CI gate: pass (exit 0) or fail (exit 1) a phase by the service's policy file, on
    /// local reports or the server's findings; each failure names the policy line.
    Gate(findings_cmd::GateArgs),
}

/// An exit code from a scanner (0 clean, 1 findings, 2 error).
fn exit(code: i32) -> ExitCode {
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// Exit status of a command, following the contract above.
pub enum Outcome {
    Ok,
    /// Findings, or a command refused by a rule.
    Refused,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The scanners are synchronous (and may use blocking HTTP): run them outside the runtime.
    let command = match cli.command {
        Command::Db(a) => return exit(deps_cmd::run_db(a)),
        Command::Scan(a) => return exit(deps_cmd::run_scan(a)),
        Command::Sbom(a) => return exit(deps_cmd::run_sbom(a)),
        Command::Threat(cmd) => return exit(threat_cmd::run(cmd)),
        Command::Ctf(cmd) if !cmd.needs_server() => return exit(ctf_cmd::run(cmd)),
        Command::Maturity(cmd) => return exit(maturity_cmd::run(cmd)),
        Command::Key(cmd) => {
            return match key_cmd::run(cmd) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
        other => other,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve(args) => serve_cmd::run(args).await,
            Command::Incident(cmd) => incident_cmd::run(cmd).await,
            Command::Evidence(cmd) => evidence_cmd::run(cmd).await,
            Command::Verify(args) => verify_cmd::run(args).await,
            Command::Token(cmd) => incident_cmd::run_token(cmd).await,
            Command::Service(cmd) => service_cmd::run(cmd).await,
            Command::Alert(cmd) => alert_cmd::run(cmd).await,
            Command::Delivery(cmd) => delivery_cmd::run(cmd).await,
            Command::Schedule(cmd) => schedule_cmd::run(cmd).await,
            Command::Escalation(cmd) => escalation_cmd::run(cmd).await,
            Command::Team(cmd) => team_cmd::run(cmd).await,
            Command::Drill(cmd) => drill_cmd::run(cmd).await,
            Command::Playbook(cmd) => drill_cmd::run_playbook(cmd).await,
            Command::Person(cmd) => person_cmd::run(cmd).await,
            Command::Admin(cmd) => admin_cmd::run(cmd).await,
            Command::Upload(a) => findings_cmd::run_upload(a).await,
            Command::Findings(cmd) => findings_cmd::run_findings(cmd).await,
            Command::Gate(a) => findings_cmd::run_gate(a).await,
            Command::Ctf(cmd) => ctf_cmd::run_server(cmd).await,
            Command::Db(_)
            | Command::Scan(_)
            | Command::Sbom(_)
            | Command::Threat(_)
            | Command::Maturity(_)
            | Command::Key(_) => {
                unreachable!("handled above")
            }
        }
    });
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Refused) => ExitCode::from(1),
        Err(e) => {
            if let Some(refusal) = e.downcast_ref::<client::Refused>() {
                eprintln!("refused: {refusal}");
                return ExitCode::from(1);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every command and every argument says what it is for in `--help`.
    #[test]
    fn help_explains_every_command_and_argument() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} <{id}>"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                let p = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(p.clone());
                }
                walk(sub, &p, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "palisade", &mut missing);
        assert!(
            missing.is_empty(),
            "{} without help text:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
}
