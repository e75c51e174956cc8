//! `palisade scan config`: argument parsing, printing and exit codes around `palisade-config`.
//!
//! Exit codes (the scanners' contract): 0 nothing at or above `--fail-on` and every input
//! checked; 1 findings at or above `--fail-on` (suppressed ones never count); 2 error: some
//! input could not be checked (unreadable, not UTF-8, malformed — the others are still checked
//! and reported), nothing to check was found, or an input was skipped (over the size cap,
//! binary) without `--skip-ok` and nothing failed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use palisade_config::walk::{self, WalkOptions};
use palisade_config::{Outcome, Severity, report};

use crate::deps_cmd::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, FailOn, ReportFormat};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories to check; `-` reads stdin (e.g. `helm template … | palisade scan
    /// config -`). In directories: Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile,
    /// docker-compose*.y[a]ml, compose*.y[a]ml, every other *.yaml/*.yml (Kubernetes objects
    /// and compose files are recognised by their content) and *.json holding Kubernetes objects.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output: `table` for people, `json` for scripts, `sarif` (2.1.0) for code-scanning tools.
    /// JSON and SARIF include suppressed findings, marked as such.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Lowest severity that makes the scan fail (exit 1). Suppressed findings never do.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    fail_on: FailOn,
    /// Report only findings of this severity or higher (in every format).
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    min_severity: FailOn,
    /// List suppressed findings in the table too, with their reasons.
    #[arg(long)]
    show_suppressed: bool,
    /// Skip files larger than this (reported as skipped); accepts K, M, G suffixes.
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = crate::scan_secrets::parse_size)]
    max_file_size: u64,
    /// Inputs skipped on purpose (over the size cap, binary) are listed but do not make the run
    /// exit 2.
    #[arg(long)]
    skip_ok: bool,
    /// Follow symbolic links while walking (loops are detected and reported).
    #[arg(long)]
    follow_symlinks: bool,
    /// Worker threads (0 = one per CPU).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn severity(f: FailOn) -> Severity {
    match f {
        FailOn::Low => Severity::Low,
        FailOn::Medium => Severity::Medium,
        FailOn::High => Severity::High,
        FailOn::Critical => Severity::Critical,
    }
}

/// Run the command; returns the exit code.
pub fn run(args: Args) -> i32 {
    let opts = WalkOptions {
        max_file_size: args.max_file_size,
        follow_symlinks: args.follow_symlinks,
        threads: args.threads,
    };
    let mut outcome = Outcome::default();
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        outcome.merge(walk::check_reader(
            "<stdin>",
            std::io::stdin().lock(),
            &opts,
        ));
    }
    let files: Vec<&Path> = args
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .map(PathBuf::as_path)
        .collect();
    if !files.is_empty() {
        outcome.merge(walk::check_paths(&files, &opts));
    }
    outcome.finish();
    outcome.retain_min_severity(severity(args.min_severity));

    for i in &outcome.issues {
        let kind = if i.is_error { "error" } else { "warning" };
        eprintln!("palisade: {kind}: {}", i.display());
    }
    let rendered = match args.format {
        ReportFormat::Table => {
            let color = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            report::table(&outcome, color, args.show_suppressed)
        }
        ReportFormat::Json => format!("{:#}\n", report::json(&outcome)),
        ReportFormat::Sarif => format!(
            "{}\n",
            report::sarif(&outcome, env!("CARGO_PKG_VERSION")).to_json_pretty()
        ),
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a stack of messages.
    let _ = out.write_all(rendered.as_bytes());
    let _ = out.flush();

    let s = &outcome.stats;
    let suppressed = outcome.findings.iter().filter(|f| f.suppressed).count();
    let shown_note =
        if suppressed > 0 && !args.show_suppressed && args.format == ReportFormat::Table {
            " (--show-suppressed lists them)"
        } else {
            ""
        };
    eprintln!(
        "palisade: {} finding(s), {suppressed} suppressed{shown_note}; checked {} file(s): {} Dockerfile(s), {} Kubernetes object(s), {} compose file(s); skipped {} binary, {} over the size cap",
        outcome.findings.len() - suppressed,
        s.files_checked,
        s.dockerfiles,
        s.kubernetes_objects,
        s.compose_files,
        s.skipped_binary,
        s.skipped_too_large,
    );
    let nothing = s.dockerfiles + s.kubernetes_objects + s.compose_files == 0;
    if outcome.has_errors() {
        return EXIT_ERROR;
    }
    if outcome.failing(severity(args.fail_on)) > 0 {
        return EXIT_FINDINGS;
    }
    if nothing && outcome.issues.is_empty() {
        // Nothing checked is not "clean": a CI gate pointed at the wrong directory must not pass.
        eprintln!(
            "palisade: error: no Dockerfile, Kubernetes object or compose file found in {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return EXIT_ERROR;
    }
    if outcome.has_skips() && !args.skip_ok {
        return EXIT_ERROR;
    }
    EXIT_CLEAN
}
