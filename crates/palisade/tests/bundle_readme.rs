//! The README.txt inside every export bundle tells its reader how to verify it. Its command is
//! run here exactly as written (with the file and the key filled in), so the text cannot drift
//! from the binary's flags again.

mod common;

use common::{BIN, ok, serve};
use std::io::Read;
use std::process::Command;

#[test]
fn the_command_in_a_bundles_readme_verifies_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data);
    let code = ok(
        &server,
        &server.admin,
        &[
            "incident",
            "declare",
            "--title",
            "Phished admin",
            "--severity",
            "SEV-2",
            "-q",
        ],
    );
    let code = code.trim();
    let bundle = dir.path().join("case.tar");
    ok(
        &server,
        &server.admin,
        &[
            "incident",
            "export",
            code,
            "-o",
            bundle.to_str().unwrap(),
            "--purpose",
            "auditor",
        ],
    );
    drop(server);

    let mut readme = String::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("README.txt") {
            entry.read_to_string(&mut readme).unwrap();
        }
    }
    let line = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("palisade verify"))
        .unwrap_or_else(|| panic!("README.txt names no verify command:\n{readme}"));
    let key = std::fs::read_to_string(data.join("ledger-signing.pub")).unwrap();
    // Fill in the placeholders as a reader would; the optional part is taken.
    let filled = line
        .replace("THIS-FILE.tar", bundle.to_str().unwrap())
        .replace(
            "[--public-key PUBLIC-KEY]",
            &format!("--public-key {}", key.trim()),
        );
    assert!(!filled.contains('['), "an unfilled placeholder: {filled}");
    let args: Vec<&str> = filled.split_whitespace().skip(1).collect();
    let out = Command::new(BIN).args(&args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{filled}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK: the bundle verifies"), "{stdout}");
}
