//! A download the server stops half-way (the stored content fails its integrity check after the
//! first megabytes have gone out) ends with a message that says what happened and what was
//! recorded, not the HTTP library's words, and keeps nothing.

mod common;

use common::{ok, palisade, serve};
use std::path::{Path, PathBuf};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn a_download_stopped_by_a_failed_integrity_check_says_so_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data);
    let admin = server.admin.clone();
    let code = ok(
        &server,
        &admin,
        &[
            "incident",
            "declare",
            "--title",
            "Disk image tampering",
            "--severity",
            "SEV-2",
            "-q",
        ],
    );
    let code = code.trim().to_string();
    let image = dir.path().join("web-01.img");
    let bytes: Vec<u8> = (0..8u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
    std::fs::write(&image, &bytes).unwrap();
    ok(
        &server,
        &admin,
        &[
            "evidence",
            "add",
            &code,
            image.to_str().unwrap(),
            "--source",
            "web-01",
            "--tool",
            "dd",
        ],
    );
    // Flip a byte near the end of the stored (encrypted) content: the first megabytes still
    // decrypt and go out before the damage is found.
    let blob = files_under(&data.join("evidence"))
        .into_iter()
        .find(|p| std::fs::metadata(p).unwrap().len() > 1 << 20)
        .expect("the stored blob");
    let mut enc = std::fs::read(&blob).unwrap();
    let at = enc.len() - 1000;
    enc[at] ^= 1;
    std::fs::write(&blob, &enc).unwrap();

    let copy = dir.path().join("copy.img");
    let r = palisade(
        &server,
        &admin,
        &[
            "evidence",
            "get",
            &format!("{code}/E1"),
            "-o",
            copy.to_str().unwrap(),
            "--purpose",
            "analysis",
        ],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("does not match its recorded hash")
            && r.stderr.contains("recorded the failure")
            && r.stderr.contains("nothing was kept"),
        "{}",
        r.stderr
    );
    for raw in ["decoding", "hyper", "reqwest", "body error"] {
        assert!(!r.stderr.contains(raw), "library text leaked: {}", r.stderr);
    }
    assert!(!copy.exists(), "nothing is kept");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("copy.img"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "a partial file was left: {leftovers:?}"
    );
}
