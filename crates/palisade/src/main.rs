use clap::{Parser, Subcommand};

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("palisade {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
