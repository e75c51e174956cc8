use clap::{Parser, Subcommand};

mod deps_cmd;

/// Palisade: DevSecOps guardrails and secure incident response.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the version.
    Version,
    /// The offline vulnerability database: OSV import, update, status.
    Db(deps_cmd::DbArgs),
    /// Scan lockfiles and container images for known vulnerabilities.
    Scan(deps_cmd::ScanArgs),
    /// Write a CycloneDX 1.6 (default) or SPDX 2.3 SBOM of lockfiles or an image.
    Sbom(deps_cmd::SbomArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("palisade {}", env!("CARGO_PKG_VERSION")),
        Command::Db(a) => std::process::exit(deps_cmd::run_db(a)),
        Command::Scan(a) => std::process::exit(deps_cmd::run_scan(a)),
        Command::Sbom(a) => std::process::exit(deps_cmd::run_sbom(a)),
    }
    Ok(())
}
