//! Evidence as a new user meets it, through the real binary: added (streamed, hash checked on
//! both sides), refused when it does not match its acquisition hash, invisible to non-members, a
//! killed upload leaving nothing behind, handed on, downloaded, a custody report that shows every
//! hand, an export bundle that verifies offline and catches tampering, and a stored blob altered
//! on disk caught on the next download.

mod common;

use common::{BIN, Server, ok, palisade, serve};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

fn json(server: &Server, token: &str, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    serde_json::from_str(&ok(server, token, &a)).unwrap()
}

fn new_token(server: &Server, user: &str) -> String {
    let v = json(
        server,
        &server.admin,
        &["token", "create", "--user", user, "--role", "responder"],
    );
    v["token"].as_str().unwrap().to_string()
}

fn content(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x: u32 = 2_463_534_242;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(files_under(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// A client that promises a large body, sends a little, and dies.
fn killed_upload(server: &Server, codename: &str) {
    let addr = server.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /api/v1/incidents/{codename}/evidence?name=half.img&source=web-01&tool=dd HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\n",
        server.admin
    )
    .unwrap();
    s.write_all(&vec![1u8; 3_000_000]).unwrap();
    s.flush().unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    // The server answers (or just closes) once it has seen the body end early.
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a truncated upload is not accepted: {answer}"
    );
}

#[test]
fn evidence_custody_export_and_offline_verification_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data);
    let admin = server.admin.clone();
    let alice = new_token(&server, "alice");
    let bob = new_token(&server, "bob");
    let inc = json(
        &server,
        &admin,
        &[
            "incident",
            "declare",
            "--title",
            "Web server compromise",
            "--severity",
            "SEV-1",
            "--commander",
            "admin",
        ],
    );
    let code = inc["codename"].as_str().unwrap().to_string();
    let id = inc["id"].as_str().unwrap().to_string();
    ok(
        &server,
        &admin,
        &["incident", "role", "assign", &code, "alice", "sme"],
    );

    // Add: the acquisition hash matches, so it is recorded, and the CLI checked the hash too.
    let img = dir.path().join("web-01.img");
    let bytes = content(3 * 1024 * 1024 + 5);
    std::fs::write(&img, &bytes).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    let img_s = img.to_str().unwrap();
    let added = json(
        &server,
        &admin,
        &[
            "evidence",
            "add",
            &code,
            img_s,
            "--source",
            "web-01",
            "--tool",
            "dd 9.4",
            "--sha256",
            &sha,
            "--note",
            "imaged read-only",
        ],
    );
    assert_eq!(added["reference"], format!("{code}/E1"));
    assert_eq!(added["sha256"], sha);
    assert_eq!(added["size"], bytes.len());
    assert_eq!(added["custodian"], "admin");

    // A file that changed since acquisition is refused, recorded nowhere and not stored.
    let changed = dir.path().join("changed.img");
    std::fs::write(&changed, content(100_000)).unwrap();
    let r = palisade(
        &server,
        &admin,
        &[
            "evidence",
            "add",
            &code,
            changed.to_str().unwrap(),
            "--source",
            "web-01",
            "--tool",
            "dd",
            "--sha256",
            &"ab".repeat(32),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("rule `evidence-hash-mismatch`"),
        "{}",
        r.stderr
    );

    // A killed upload leaves no evidence and no file outside the temporary area (which it cleans).
    killed_upload(&server, &code);
    let listed = json(&server, &admin, &["evidence", "list", &code]);
    assert_eq!(listed["evidence"].as_array().unwrap().len(), 1, "{listed}");
    let blobs = files_under(&data.join("evidence").join(&id));
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!(files_under(&data.join("evidence").join("tmp")).is_empty());

    // A non-member sees nothing: the same answer as for an incident that does not exist.
    let hidden = palisade(&server, &bob, &["evidence", "list", &code]);
    let missing = palisade(&server, &bob, &["evidence", "list", "no-such-incident"]);
    assert_eq!(hidden.code, 2);
    assert_eq!(
        hidden.stderr.replace(&code, "X"),
        missing.stderr.replace("no-such-incident", "X"),
        "existence must not leak"
    );
    let r = palisade(
        &server,
        &bob,
        &[
            "evidence",
            "get",
            &format!("{code}/E1"),
            "-o",
            dir.path().join("b").to_str().unwrap(),
            "--purpose",
            "curious",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(!dir.path().join("b").exists());

    // Hand it to alice; only its custodian (or the IC) may do that.
    let e1 = format!("{code}/E1");
    let r = palisade(
        &server,
        &alice,
        &["evidence", "transfer", &e1, "--to", "bob", "--purpose", "x"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("rule `custodian-only`"), "{}", r.stderr);
    ok(
        &server,
        &admin,
        &[
            "evidence",
            "transfer",
            &e1,
            "--to",
            "alice",
            "--purpose",
            "memory forensics",
        ],
    );
    // Bob is not a member of this restricted incident: he cannot receive it.
    let r = palisade(
        &server,
        &alice,
        &[
            "evidence",
            "transfer",
            &e1,
            "--to",
            "bob",
            "--purpose",
            "second opinion",
        ],
    );
    assert!(
        r.stderr.contains("rule `custody-members-only`"),
        "{}",
        r.stderr
    );

    // Alice downloads it: same bytes, recorded with her purpose.
    let got = dir.path().join("copy.img");
    ok(
        &server,
        &alice,
        &[
            "evidence",
            "get",
            &e1,
            "-o",
            got.to_str().unwrap(),
            "--purpose",
            "timeline analysis",
        ],
    );
    assert_eq!(std::fs::read(&got).unwrap(), bytes);
    let r = palisade(
        &server,
        &alice,
        &[
            "evidence",
            "get",
            &e1,
            "-o",
            got.to_str().unwrap(),
            "--purpose",
            "again",
        ],
    );
    assert_eq!(r.code, 2, "an existing output file is never overwritten");

    // The custody report shows every hand.
    let report = ok(&server, &alice, &["evidence", "custody", &e1]);
    for needle in [
        "# Chain of custody",
        &sha,
        "| acquired | admin |",
        "admin → alice",
        "memory forensics",
        "| accessed | alice |",
        "timeline analysis",
        "Current custodian | alice",
        "imaged read-only",
    ] {
        assert!(
            report.contains(needle),
            "custody report lacks {needle:?}:\n{report}"
        );
    }
    let cj = json(&server, &alice, &["evidence", "custody", &e1]);
    let actions: Vec<&str> = cj["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["acquired", "transferred", "accessed"]);

    // Export with evidence; the CLI verifies the bundle it wrote.
    let bundle = dir.path().join("case.tar");
    let out = ok(
        &server,
        &admin,
        &[
            "incident",
            "export",
            &code,
            "-o",
            bundle.to_str().unwrap(),
            "--purpose",
            "outside counsel",
            "--with-evidence",
        ],
    );
    assert!(out.contains("Verified offline"), "{out}");
    // Anyone verifies it with no server: stop it first.
    let pubkey = std::fs::read_to_string(data.join("ledger-signing.pub")).unwrap();
    drop(server);
    let verify = |path: &Path, key: Option<&str>| {
        let mut c = Command::new(BIN);
        c.arg("verify").arg(path);
        if let Some(k) = key {
            c.args(["--public-key", k]);
        }
        let o = c.output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code_ok, text) = verify(&bundle, Some(pubkey.trim()));
    assert_eq!(code_ok, 0, "{text}");
    assert!(
        text.contains("OK: the bundle verifies") && text.contains("1 evidence files verified"),
        "{text}"
    );

    // Tamper with the evidence inside the bundle: caught.
    let mut raw = std::fs::read(&bundle).unwrap();
    let pos = raw
        .windows(64)
        .position(|w| w == &bytes[4096..4160])
        .expect("evidence is in the bundle");
    raw[pos + 10] ^= 0xff;
    let tampered = dir.path().join("tampered.tar");
    std::fs::write(&tampered, &raw).unwrap();
    let (code_bad, text) = verify(&tampered, None);
    assert_eq!(code_bad, 1, "{text}");
    assert!(
        text.contains("FAILED") && text.contains("does not match the ledger"),
        "{text}"
    );

    // Alter the stored (encrypted) blob on disk: the next download fails and is recorded.
    let server = serve(&data);
    let blob = files_under(&data.join("evidence").join(&id)).remove(0);
    let mut enc = std::fs::read(&blob).unwrap();
    let mid = enc.len() / 2;
    enc[mid] ^= 1;
    std::fs::write(&blob, &enc).unwrap();
    let bad_copy = dir.path().join("bad.img");
    let r = palisade(
        &server,
        &alice,
        &[
            "evidence",
            "get",
            &e1,
            "-o",
            bad_copy.to_str().unwrap(),
            "--purpose",
            "re-check",
        ],
    );
    assert_ne!(r.code, 0, "a corrupted blob is never a silent pass");
    assert!(!bad_copy.exists(), "nothing is kept");
    let cj = json(&server, &alice, &["evidence", "custody", &e1]);
    assert_eq!(cj["integrity_failed"], true, "{cj}");
    // The report vouches for the download that went out whole and matched, not for this one.
    let report = ok(&server, &alice, &["evidence", "custody", &e1]);
    let row = |purpose: &str| {
        report
            .lines()
            .find(|l| l.contains("| accessed |") && l.contains(purpose))
            .unwrap_or_else(|| panic!("no download for {purpose}:\n{report}"))
            .to_string()
    };
    assert!(row("timeline analysis").contains("✔ matches"), "{report}");
    let bad = row("re-check");
    assert!(!bad.contains('✔') && bad.contains("✘ failed"), "{report}");
    let r = palisade(
        &server,
        &alice,
        &[
            "evidence",
            "transfer",
            &e1,
            "--to",
            "admin",
            "--purpose",
            "return",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not decrypt") && r.stderr.contains("recorded in the ledger"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_name_that_is_no_portable_file_name_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data);
    let admin = server.admin.clone();
    let inc = json(
        &server,
        &admin,
        &[
            "incident",
            "declare",
            "--title",
            "Lost laptop",
            "--severity",
            "SEV-3",
            "--commander",
            "admin",
        ],
    );
    let code = inc["codename"].as_str().unwrap().to_string();
    let id = inc["id"].as_str().unwrap().to_string();
    let img = dir.path().join("disk.img");
    std::fs::write(&img, content(10_000)).unwrap();
    // Windows reserves AUX, also before an extension.
    let aux = dir.path().join("aux.txt");
    std::fs::write(&aux, b"notes").unwrap();
    let add = |file: &Path, name: Option<&str>| {
        let mut a = vec![
            "evidence",
            "add",
            &code,
            file.to_str().unwrap(),
            "--source",
            "laptop",
            "--tool",
            "dd",
        ];
        if let Some(n) = name {
            a.extend(["--name", n]);
        }
        a.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    for (file, name, hint) in [
        (&img, Some(".."), false),
        (&img, Some("a:b"), false),
        (&aux, None, true),
    ] {
        let args = add(file, name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = palisade(&server, &admin, &args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("is not a valid evidence name")
                && r.stderr.contains("portable file name"),
            "{}",
            r.stderr
        );
        assert_eq!(
            r.stderr.contains("--name"),
            hint,
            "a name taken from the file says how to give another: {}",
            r.stderr
        );
        // The check is the client's own: it refuses with no server to ask.
        let offline = Command::new(BIN)
            .args(&args)
            .env("PALISADE_URL", "http://127.0.0.1:9")
            .env("PALISADE_TOKEN", &admin)
            .env("PALISADE_CONFIG", "/nonexistent/palisade-client.toml")
            .output()
            .unwrap();
        assert_eq!(offline.status.code(), Some(1), "{args:?}");
    }
    // Nothing was recorded or stored.
    let listed = json(&server, &admin, &["evidence", "list", &code]);
    assert!(
        listed["evidence"].as_array().unwrap().is_empty(),
        "{listed}"
    );
    assert!(files_under(&data.join("evidence").join(&id)).is_empty());
    // The same file under a portable name is accepted.
    let args = add(&aux, Some("aux-notes.txt"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let added = json(&server, &admin, &args);
    assert_eq!(added["name"], "aux-notes.txt");
}

/// A proxy in front of the server that lets the first request through but cuts the connection
/// as soon as the answer starts (the server has recorded it; the client never hears): the lost
/// answer of a flaky network. Later connections pass both ways. Returns its URL.
fn answer_losing_proxy(server_url: &str) -> String {
    use std::net::{TcpListener, TcpStream};
    let upstream = server_url.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(&upstream) else {
                return;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                if n == 0 {
                    // Wait for the first byte of the answer, then drop both sides unanswered.
                    let mut b = [0u8; 1];
                    let _ = s_in.read(&mut b);
                    let _ = c_out.shutdown(std::net::Shutdown::Both);
                    let _ = s_in.shutdown(std::net::Shutdown::Both);
                } else {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(std::net::Shutdown::Write);
                }
            });
        }
    });
    url
}

/// `evidence add` whose answer is lost sends the file again with the same idempotency key: the
/// server answers the repeat with its first answer, and the evidence is recorded once.
#[test]
fn an_upload_whose_answer_was_lost_is_sent_again_and_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("data"));
    let admin = server.admin.clone();
    let inc = json(
        &server,
        &admin,
        &[
            "incident",
            "declare",
            "--title",
            "Lost answer",
            "--severity",
            "SEV-3",
            "--commander",
            "admin",
        ],
    );
    let code = inc["codename"].as_str().unwrap().to_string();
    let file = dir.path().join("mem.dump");
    std::fs::write(&file, content(200_000)).unwrap();
    let proxy = answer_losing_proxy(&server.url);
    let r = common::palisade_at(
        &proxy,
        &admin,
        &[
            "evidence",
            "add",
            &code,
            file.to_str().unwrap(),
            "--source",
            "host-1",
            "--tool",
            "avml",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("sending it again"),
        "the first answer was lost: {}",
        r.stderr
    );
    assert!(
        r.stdout.contains("hash checked on both sides"),
        "{}",
        r.stdout
    );
    let list = json(&server, &admin, &["evidence", "list", &code]);
    let items = list["evidence"].as_array().unwrap();
    assert_eq!(items.len(), 1, "recorded once: {list:#}");
}
