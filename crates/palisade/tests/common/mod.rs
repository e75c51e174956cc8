//! The real binary, driven as a user would: `palisade serve` on a data directory and CLI calls
//! against it. Shared by the end-to-end tests.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_palisade");

pub struct Server {
    pub child: Child,
    pub url: String,
    /// The admin token printed on the first start (empty on a restart).
    pub admin: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `palisade serve` on `data_dir`, on a free port. On a first start (no
/// database yet) it waits for the admin token the banner prints; on a restart, for the URL.
pub fn serve(data_dir: &Path) -> Server {
    let first_start = !data_dir.join("palisade.db").exists();
    serve_on(data_dir, None, first_start)
}

/// Start `palisade serve` with its data directory and, when given, a PostgreSQL database;
/// `first_start`: the database has no users yet, so the banner prints an admin token.
pub fn serve_on(data_dir: &Path, database_url: Option<&str>, first_start: bool) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("PALISADE_DATABASE_URL");
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    start(cmd, first_start)
}

/// Start a prepared `palisade serve` command (perhaps wrapped in another program) and read its
/// banner: the URL, and on a first start the admin token.
pub fn start(mut cmd: Command, first_start: bool) -> Server {
    let mut child = cmd
        .env_remove("PALISADE_EVIDENCE_STORE")
        .env("PALISADE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start palisade serve");
    let (url, admin) = read_banner(child.stdout.take().unwrap(), first_start);
    Server {
        child,
        url: url.expect("serve printed its URL"),
        admin: if first_start {
            admin.expect("first start printed an admin token")
        } else {
            String::new()
        },
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the CLI against `server` as the holder of `token`.
pub fn palisade(server: &Server, token: &str, args: &[&str]) -> Run {
    palisade_at(&server.url, token, args)
}

/// Run the CLI against the server at `url` (a proxy in front of one, say).
pub fn palisade_at(url: &str, token: &str, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env("PALISADE_URL", url)
        .env("PALISADE_TOKEN", token)
        .env("PALISADE_CONFIG", "/nonexistent/palisade-client.toml")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run an offline command (no server) in `dir`, as a user would: `HOME` there, no colour, no
/// server settings from the environment.
pub fn offline(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env_remove("PALISADE_URL")
        .env_remove("PALISADE_TOKEN")
        .output()
        .unwrap_or_else(|e| panic!("spawn palisade: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run the CLI and require success; its standard output.
pub fn ok(server: &Server, token: &str, args: &[&str]) -> String {
    let r = palisade(server, token, args);
    assert_eq!(
        r.code, 0,
        "palisade {args:?} failed:\n{}\n{}",
        r.stdout, r.stderr
    );
    r.stdout
}

/// Run the CLI and require a refusal (exit 1) naming `rule`.
pub fn refused(server: &Server, token: &str, args: &[&str], rule: &str) {
    let r = palisade(server, token, args);
    assert_eq!(
        r.code, 1,
        "palisade {args:?} should be refused:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains(&format!("rule `{rule}`")),
        "expected rule {rule}: {}",
        r.stderr
    );
}

/// Read `palisade serve`'s start-up banner line by line until what this start prints has
/// appeared: the URL, and with `expect_admin` (a first start) the admin token after it.
pub fn read_banner(
    stdout: std::process::ChildStdout,
    expect_admin: bool,
) -> (Option<String>, Option<String>) {
    let (mut url, mut admin) = (None, None);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.split("serving at ").nth(1) {
            url = Some(rest.trim().to_string());
            if !expect_admin {
                break;
            }
        }
        if let Some(tok) = line.trim().strip_prefix("export PALISADE_TOKEN=") {
            admin = Some(tok.to_string());
            break;
        }
    }
    (url, admin)
}
