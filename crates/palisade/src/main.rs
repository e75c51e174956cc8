use clap::{Parser, Subcommand};

mod scan_secrets;

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
    /// DevSecOps scanners.
    #[command(subcommand)]
    Scan(ScanCommand),
}

#[derive(Subcommand)]
enum ScanCommand {
    /// Find secrets in files, stdin, the git index or the full git history.
    Secrets(scan_secrets::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("palisade {}", env!("CARGO_PKG_VERSION")),
        Command::Scan(ScanCommand::Secrets(args)) => std::process::exit(scan_secrets::run(args)),
    }
    Ok(())
}
