//! The ledger signing key from the environment (a deployment whose nodes share one key): the
//! public half is still written beside the data and printed, `palisade key public` prints it,
//! and `palisade verify` checks the ledger with it.

mod common;

use common::BIN;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const SECRET: &str = "4f1c3b0a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"; // palisade:allow (synthetic test vector)

#[test]
fn a_signing_key_from_the_environment_has_its_public_half_written_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PALISADE_SIGNING_KEY", SECRET)
        .env("PALISADE_LOG", "warn")
        .env_remove("PALISADE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.contains("PALISADE_TOKEN=");
        banner.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let banner = banner.join("\n");
    let public = Command::new(BIN)
        .args(["key", "public", "--data-dir"])
        .arg(&data)
        .env("PALISADE_SIGNING_KEY", SECRET)
        .output()
        .unwrap();
    assert!(public.status.success());
    let hex = String::from_utf8(public.stdout).unwrap();
    assert_eq!(hex.trim().len(), 64, "{hex}");
    assert!(
        banner.contains(hex.trim()),
        "the banner prints the public key:\n{banner}"
    );
    // Written beside the data, identical, with its trailing newline.
    let file = std::fs::read_to_string(data.join("ledger-signing.pub")).unwrap();
    assert_eq!(file, hex);
    assert!(
        !data.join("ledger-signing.key").exists(),
        "no key file for an env key"
    );
    // Without the environment, the file answers.
    let again = Command::new(BIN)
        .args(["key", "public", "--format", "json", "--data-dir"])
        .arg(&data)
        .env_remove("PALISADE_SIGNING_KEY")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["public_key"], hex.trim());
    assert_eq!(v["key_id"].as_str().unwrap().len(), 16);
    let verify = Command::new(BIN)
        .arg("verify")
        .arg(&data)
        .env_remove("PALISADE_SIGNING_KEY")
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
