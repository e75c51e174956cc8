//! The README's "Running an incident" walk-through, run as written: its `sh` blocks, in order,
//! in one shell (`set -euo pipefail`), in a fresh directory where `palisade serve` was started as
//! the quick start says, with the two `export` lines of its banner. If the README drifts from
//! what the binary does, this fails.

mod common;

use common::{BIN, start};
use std::path::Path;
use std::process::Command;

/// The `sh` code blocks of the README section titled `heading`, in order.
fn sh_blocks(readme: &str, heading: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let rest = &readme[start + heading.len() + 5..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```sh" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            blocks.push(block.join("\n"));
        }
    }
    blocks
}

#[test]
fn the_readme_walk_through_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let blocks = sh_blocks(&readme, "Running an incident");
    assert!(blocks.len() >= 4, "{blocks:?}");
    let script = blocks.join("\n");

    let dir = tempfile::tempdir().unwrap();
    // The quick start: `palisade serve` in this directory, with the default data directory.
    let mut serve = Command::new(BIN);
    serve
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("PALISADE_DATA_DIR")
        .env_remove("PALISADE_DATABASE_URL");
    let server = start(serve, true);

    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        // The two lines the banner told the user to paste.
        .env("PALISADE_URL", &server.url)
        .env("PALISADE_TOKEN", &server.admin)
        .env("PALISADE_CONFIG", "/nonexistent/palisade-client.toml")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walk-through stopped ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // The refusal it shows happened, for the reason it gives.
    assert!(
        stderr.contains("refused: rule `step-prerequisites`")
            && stdout.contains("refused, as the playbook says"),
        "{stdout}\n{stderr}"
    );
    // What it produced is there and true.
    let d = dir.path();
    assert_eq!(
        std::fs::read(d.join("auth-copy.log")).unwrap(),
        std::fs::read(d.join("auth.log")).unwrap()
    );
    assert!(stdout.contains("# Chain of custody:"), "{stdout}");
    let pm = std::fs::read_to_string(d.join("postmortem.md")).unwrap();
    assert!(pm.contains("Unknown admin logins"), "{pm}");
    assert!(d.join("case.tar").metadata().unwrap().len() > 0);
    assert!(stdout.contains("closed"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
}
