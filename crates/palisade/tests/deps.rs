//! The real binary: `palisade db …` and `palisade scan deps`, run in temp directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn palisade(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env("PALISADE_DATA_DIR", data)
        .env("NO_COLOR", "1")
        .output()
        .expect("run palisade")
}

fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.join("osv").is_dir() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "shared data not found at {} (required when CI=true)",
            p.display()
        );
    }
    eprintln!("SKIP: shared data not found at {}", p.display());
    None
}

const ADVISORY: &str = r#"{
  "id": "RUSTSEC-2099-0001", "modified": "2024-01-01T00:00:00Z",
  "aliases": ["CVE-2099-1"], "summary": "demo overflow",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected": [{"package": {"ecosystem": "crates.io", "name": "demo"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.0.0-0"}, {"fixed": "1.2.0"}]}]}]
}"#;

const LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["demo"]

[[package]]
name = "demo"
version = "1.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(dir.path().join("adv.json"), ADVISORY).unwrap();
    let out = palisade(
        &data,
        &[
            "db",
            "import",
            dir.path().join("adv.json").to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::create_dir_all(dir.path().join("proj")).unwrap();
    std::fs::write(dir.path().join("proj/Cargo.lock"), LOCK).unwrap();
    (dir, data)
}

#[test]
fn scan_deps_reports_finding_with_line_fix_and_aliases_and_exits_1() {
    let (dir, data) = setup();
    let proj = dir.path().join("proj");
    let out = palisade(
        &data,
        &["scan", "deps", proj.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["id"], "RUSTSEC-2099-0001");
    assert_eq!(f["aliases"], serde_json::json!(["CVE-2099-1"]));
    assert_eq!(f["package"], "demo");
    assert_eq!(f["line"], 8);
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["cvss_score"], 5.9);
    assert_eq!(f["fixed"], serde_json::json!(["1.2.0"]));
    assert_eq!(f["purl"], "pkg:cargo/demo@1.1.0");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);

    // Table output names the package, the id and the fix.
    let out = palisade(&data, &["scan", "deps", proj.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("MEDIUM 5.9") && text.contains("demo 1.1.0") && text.contains("fix: 1.2.0"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no escape codes: {text}");
}

#[test]
fn fail_on_threshold_decides_the_exit_code() {
    let (dir, data) = setup();
    let lock = dir.path().join("proj/Cargo.lock");
    let lock = lock.to_str().unwrap();
    assert_eq!(
        palisade(&data, &["scan", "deps", lock, "--fail-on", "medium"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        palisade(&data, &["scan", "deps", lock, "--fail-on", "high"])
            .status
            .code(),
        Some(0)
    );
    // A fixed version is clean.
    std::fs::write(
        dir.path().join("proj/Cargo.lock"),
        LOCK.replace("1.1.0", "1.2.0"),
    )
    .unwrap();
    assert_eq!(
        palisade(&data, &["scan", "deps", lock]).status.code(),
        Some(0)
    );
}

#[test]
fn malformed_lockfile_is_an_error_naming_file_and_line_and_others_are_still_scanned() {
    let (dir, data) = setup();
    let bad = dir.path().join("proj/sub");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("requirements.txt"), "flask==2.0\n\n!!!==1\n").unwrap();
    let proj = dir.path().join("proj");
    let out = palisade(
        &data,
        &["scan", "deps", proj.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sub/requirements.txt:3:"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["id"], "RUSTSEC-2099-0001");
}

#[test]
fn sarif_locates_the_lockfile_line() {
    let (dir, data) = setup();
    let lock = dir.path().join("proj/Cargo.lock");
    let out = palisade(
        &data,
        &["scan", "deps", lock.to_str().unwrap(), "--format", "sarif"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "RUSTSEC-2099-0001");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        8
    );
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
        "5.9"
    );
}

#[test]
fn scanning_without_an_index_is_an_error_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.lock"), LOCK).unwrap();
    let out = palisade(
        &dir.path().join("nodata"),
        &["scan", "deps", dir.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("palisade db import"));
}

#[test]
fn a_tree_without_lockfiles_is_an_error_not_a_clean_pass() {
    let (dir, data) = setup();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("README.md"), "no lockfiles here").unwrap();
    let out = palisade(&data, &["scan", "deps", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lockfile found"));
}

#[test]
fn db_status_reports_ecosystems_and_counts() {
    let (_dir, data) = setup();
    let out = palisade(&data, &["db", "status", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["ecosystem"], "crates.io");
    assert_eq!(v[0]["records"], 1);
    assert_eq!(v[0]["newest_modified"], "2024-01-01T00:00:00Z");
    // The table says how old the data and the import are.
    let text = String::from_utf8(palisade(&data, &["db", "status"]).stdout).unwrap();
    let row = text.lines().find(|l| l.starts_with("crates.io")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[..3], ["crates.io", "1", "0"]);
    assert!(cols[3].ends_with('d') && cols[4] == "ago", "{row}");
    assert!(row.ends_with("s ago") || row.ends_with("m ago"), "{row}");
}

/// cargo-audit's own fixtures scanned against the same advisories (as OSV): the findings
/// cargo-audit reports (see BENCHMARKS.md, "Dependency scanning"), vulnerabilities and
/// informational warnings kept apart.
#[test]
fn cargo_audit_fixtures_give_the_same_findings_as_cargo_audit() {
    let Some(shared) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = palisade(
        &data,
        &[
            "db",
            "import",
            shared.join("osv/crates.io").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let fixtures = shared.join("lockfiles/cargo/rustsec_rustsec_cargo-audit-fixtures");
    let expect: &[(&str, &[&str], &[&str], i32)] = &[
        ("base64_vuln", &["base64 0.5.1 RUSTSEC-2017-0004"], &[], 1),
        ("no_vulns", &[], &[], 0),
        (
            "notice",
            &[],
            &["inconceivable 0.9.0 RUSTSEC-2022-0058 notice"],
            0,
        ),
        (
            "unmaintained",
            &[],
            &["parity-wasm 0.45.0 RUSTSEC-2022-0061 unmaintained"],
            0,
        ),
        ("unsound", &[], &["ash 0.30.0 RUSTSEC-2021-0090 unsound"], 0),
        ("yanked", &[], &[], 0),
        (
            "unaffected-newer",
            &[
                "hickory-proto 0.25.2 RUSTSEC-2026-0118",
                "hickory-proto 0.25.2 RUSTSEC-2026-0119",
            ],
            &[],
            1,
        ),
    ];
    for (name, vulns, warnings, code) in expect {
        let lock = fixtures.join(name).join("Cargo.lock");
        let out = palisade(
            &data,
            &["scan", "deps", lock.to_str().unwrap(), "--format", "json"],
        );
        assert_eq!(out.status.code(), Some(*code), "{name}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f["package"].as_str().unwrap(),
                    f["version"].as_str().unwrap(),
                    f["id"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(got, *vulns, "{name}: vulnerabilities");
        let got: Vec<String> = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f["package"].as_str().unwrap(),
                    f["version"].as_str().unwrap(),
                    f["id"].as_str().unwrap(),
                    f["kind"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(got, *warnings, "{name}: warnings");
    }
}

#[test]
fn sbom_writes_cyclonedx_and_spdx_with_purls_and_graph() {
    let (dir, data) = setup();
    let proj = dir.path().join("proj");
    let out_file = dir.path().join("bom.json");
    let out = palisade(
        &data,
        &[
            "sbom",
            proj.to_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bom: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(
        (bom["bomFormat"].as_str(), bom["specVersion"].as_str()),
        (Some("CycloneDX"), Some("1.6"))
    );
    assert_eq!(bom["metadata"]["component"]["name"], "proj");
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(purls, ["pkg:cargo/app@0.1.0", "pkg:cargo/demo@1.1.0"]);
    let app = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == "pkg:cargo/app@0.1.0")
        .unwrap();
    assert_eq!(
        app["dependsOn"],
        serde_json::json!(["pkg:cargo/demo@1.1.0"])
    );

    let out = palisade(&data, &["sbom", proj.to_str().unwrap(), "--format", "spdx"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["packages"].as_array().unwrap().len(), 3);

    // A malformed lockfile: error naming it, exit 2, no partial document.
    std::fs::write(proj.join("yarn.lock"), "a@^1:\n  version \"1\"\noops\n").unwrap();
    let out = palisade(&data, &["sbom", proj.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("yarn.lock:3:"));
    assert!(out.stdout.is_empty());
}

#[test]
fn db_update_downloads_from_the_configured_server() {
    use std::io::{BufRead, BufReader, Write};
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("A.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(ADVISORY.as_bytes()).unwrap();
    let body = zip.finish().unwrap().into_inner();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut req = String::new();
        r.read_line(&mut req).unwrap();
        let mut l = String::new();
        while r.read_line(&mut l).unwrap() > 2 {
            l.clear();
        }
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(&body).unwrap();
        req
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["db", "update", "--ecosystem", "crates.io"])
        .env("PALISADE_DATA_DIR", &data)
        .env("PALISADE_OSV_URL", &base)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        server
            .join()
            .unwrap()
            .starts_with("GET /crates.io/all.zip ")
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("crates.io: read 1 records: 1 written"));
    let st: Value =
        serde_json::from_slice(&palisade(&data, &["db", "status", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(st[0]["records"], 1);
    // With an empty index and no --ecosystem there is nothing to update: an error that says so.
    let out = palisade(&dir.path().join("empty"), &["db", "update"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ecosystem"));
}

fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn scan_image_and_sbom_of_a_docker_save_tarball() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let adv = r#"{"id":"DSA-9999-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-7"],
      "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
      "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]}]}"#;
    std::fs::write(dir.path().join("dsa.json"), adv).unwrap();
    assert_eq!(
        palisade(
            &data,
            &[
                "db",
                "import",
                dir.path().join("dsa.json").to_str().unwrap()
            ]
        )
        .status
        .code(),
        Some(0)
    );
    let layer = tar_of(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n".to_vec()),
        (
            "var/lib/dpkg/status",
            b"Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n".to_vec(),
        ),
    ]);
    let image = tar_of(&[
        (
            "manifest.json",
            br#"[{"Config":"c.json","RepoTags":["demo:1"],"Layers":["l1/layer.tar"]}]"#.to_vec(),
        ),
        ("c.json", b"{}".to_vec()),
        ("l1/layer.tar", layer),
    ]);
    let path = dir.path().join("demo.tar");
    std::fs::write(&path, &image).unwrap();
    // `docker save demo:1 | gzip > demo.tar.gz` is read as the same image.
    let gz_path = dir.path().join("demo.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &image).unwrap();
    std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();
    let out = palisade(
        &data,
        &["scan", "image", path.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gz_out = palisade(
        &data,
        &[
            "scan",
            "image",
            gz_path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(gz_out.status.code(), Some(1));
    let gz_findings: Value = serde_json::from_slice(&gz_out.stdout).unwrap();
    assert_eq!(gz_findings["findings"][0]["id"], "DSA-9999-1");
    assert!(
        gz_findings["findings"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("demo.tar.gz!/var/lib/dpkg/status")
    );
    let gz_bom = palisade(&data, &["sbom", gz_path.to_str().unwrap()]);
    assert_eq!(gz_bom.status.code(), Some(0));
    let gz_bom: Value = serde_json::from_slice(&gz_bom.stdout).unwrap();
    assert_eq!(
        gz_bom["components"][0]["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12"
    );
    assert_eq!(gz_bom["metadata"]["component"]["type"], "container");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(
        (f["id"].as_str(), f["package"].as_str()),
        (Some("DSA-9999-1"), Some("libssl3"))
    );
    assert_eq!(f["fixed"], serde_json::json!(["3.0.11-1~deb12u2"]));
    assert!(
        f["path"]
            .as_str()
            .unwrap()
            .ends_with("demo.tar!/var/lib/dpkg/status")
    );

    let out = palisade(&data, &["sbom", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bom: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        bom["components"][0]["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12"
    );
    assert_eq!(bom["metadata"]["component"]["type"], "container");
}

/// An OCI layout directory with a zstd layer holding a yarn.lock: `scan image` rates the finding
/// from its CVSS v4.0 vector, and `sbom` carries the yarn dependency graph.
#[test]
fn scan_image_and_sbom_of_an_oci_layout_with_a_zstd_layer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let adv = r#"{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-01-01T00:00:00Z",
      "severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
      "affected":[{"package":{"ecosystem":"npm","name":"ms"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.1.3"}]}]}]}"#;
    std::fs::write(dir.path().join("ghsa.json"), adv).unwrap();
    let out = palisade(
        &data,
        &[
            "db",
            "import",
            dir.path().join("ghsa.json").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let yarn = "# yarn lockfile v1\n\ndebug@^4.1.0:\n  version \"4.3.4\"\n  dependencies:\n    ms \"2.1.2\"\n\nms@2.1.2:\n  version \"2.1.2\"\n";
    let layer = ruzstd::encoding::compress_to_vec(
        tar_of(&[("app/yarn.lock", yarn.as_bytes().to_vec())]).as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let ld = hex_sha256(&layer);
    let manifest = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:{ld}","size":{}}}]}}"#,
        hex_sha256(b"{}"),
        layer.len()
    );
    let md = hex_sha256(manifest.as_bytes());
    let layout = dir.path().join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("blobs/sha256").join(&ld), &layer).unwrap();
    std::fs::write(layout.join("blobs/sha256").join(&md), &manifest).unwrap();
    std::fs::write(
        layout.join("index.json"),
        format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"sha256:{md}"}}]}}"#),
    )
    .unwrap();

    let out = palisade(
        &data,
        &[
            "scan",
            "image",
            layout.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(
        (
            f["id"].as_str(),
            f["package"].as_str(),
            f["severity"].as_str()
        ),
        (Some("GHSA-aaaa-bbbb-cccc"), Some("ms"), Some("high"))
    );
    assert_eq!(f["cvss_score"], 8.5);

    let out = palisade(&data, &["sbom", layout.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let bom: Value = serde_json::from_slice(&out.stdout).unwrap();
    let debug = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == "pkg:npm/debug@4.3.4")
        .unwrap();
    assert_eq!(debug["dependsOn"], serde_json::json!(["pkg:npm/ms@2.1.2"]));

    // The same layer cut short: an error naming the layer, exit 2.
    std::fs::write(
        layout.join("blobs/sha256").join(&ld),
        &layer[..layer.len() - 8],
    )
    .unwrap();
    let out = palisade(&data, &["scan", "image", layout.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("blobs/sha256/{ld}: layer: zstd:")),
        "{err}"
    );
}

fn hex_sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Every shared Cargo.lock: palisade's findings equal cargo-audit's (recorded in
/// `tests/fixtures/cargo-audit-expected.txt`; yanked checks excluded, see BENCHMARKS.md).
#[test]
fn all_shared_cargo_lockfiles_agree_with_cargo_audit() {
    let Some(shared) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = palisade(
        &data,
        &[
            "db",
            "import",
            shared.join("osv/crates.io").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let expected_text = include_str!("fixtures/cargo-audit-expected.txt");
    let mut expected: Vec<&str> = expected_text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect();
    expected.sort();
    let root = shared.join("lockfiles/cargo");
    let out = palisade(
        &data,
        &["scan", "deps", root.to_str().unwrap(), "--format", "json"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lockfiles"].as_array().unwrap().len(), 14);
    let prefix = format!("{}/", root.display());
    let mut got: Vec<String> = Vec::new();
    for (list, vuln) in [(&v["findings"], true), (&v["warnings"], false)] {
        for f in list.as_array().unwrap() {
            let path = f["path"].as_str().unwrap();
            let lockdir = path
                .strip_prefix(&prefix)
                .unwrap()
                .strip_suffix("/Cargo.lock")
                .unwrap();
            let kind = if vuln {
                "vuln"
            } else {
                f["kind"].as_str().unwrap()
            };
            got.push(format!(
                "{lockdir} {kind} {} {} {}",
                f["package"].as_str().unwrap(),
                f["version"].as_str().unwrap(),
                f["id"].as_str().unwrap()
            ));
        }
    }
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn an_index_of_an_older_format_is_refused_by_scans_and_rebuilt_by_import() {
    let (dir, data) = setup();
    let lock = dir.path().join("proj/Cargo.lock");
    let lock = lock.to_str().unwrap();
    assert_eq!(
        palisade(&data, &["scan", "deps", lock]).status.code(),
        Some(1)
    );
    // Make it look like an index written by a build of format 1.
    rusqlite::Connection::open(data.join("vulns.sqlite3"))
        .unwrap()
        .execute(
            "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let out = palisade(&data, &["scan", "deps", lock]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("format 1") && err.contains("re-run `palisade db import"),
        "{err}"
    );
    let out = palisade(
        &data,
        &[
            "db",
            "import",
            dir.path().join("adv.json").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("had format 1") && err.contains("rebuilt"),
        "{err}"
    );
    assert_eq!(
        palisade(&data, &["scan", "deps", lock]).status.code(),
        Some(1)
    );
}

/// npm lockfiles end to end: an aliased yarn entry is matched and reported as the real package,
/// peer variants of a pnpm v5 package give one finding, and a nested package-lock v1 entry is
/// located (JSON and SARIF) at its own key's line.
#[test]
fn npm_aliases_peer_variants_and_nested_entries_are_reported_once_at_their_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let adv = |id: &str, name: &str, fixed: &str| {
        format!(
            r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","summary":"{name} flaw",
            "severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}}],
            "affected":[{{"package":{{"ecosystem":"npm","name":"{name}"}},
            "ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
        )
    };
    let advs = dir.path().join("advs");
    std::fs::create_dir_all(&advs).unwrap();
    for (id, name, fixed) in [
        ("GHSA-aaaa-aaaa-aaaa", "string-width", "4.2.4"),
        ("GHSA-bbbb-bbbb-bbbb", "react-dom", "18.2.1"),
        ("GHSA-cccc-cccc-cccc", "semver", "5.7.2"),
    ] {
        std::fs::write(advs.join(format!("{id}.json")), adv(id, name, fixed)).unwrap();
    }
    let out = palisade(&data, &["db", "import", advs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));

    let proj = dir.path().join("proj");
    for sub in ["yarn", "pnpm", "npm"] {
        std::fs::create_dir_all(proj.join(sub)).unwrap();
    }
    std::fs::write(
        proj.join("yarn/yarn.lock"),
        "# yarn lockfile v1\n\n\n\"string-width-cjs@npm:string-width@^4.2.0\":\n  version \"4.2.3\"\n\nstring-width@^4.1.0:\n  version \"4.2.3\"\n",
    )
    .unwrap();
    std::fs::write(
        proj.join("pnpm/pnpm-lock.yaml"),
        "lockfileVersion: 5.4\n\npackages:\n\n  /react-dom/18.2.0_react@18.1.0:\n    resolution: {integrity: a}\n\n  /react-dom/18.2.0_react@18.2.0:\n    resolution: {integrity: b}\n",
    )
    .unwrap();
    std::fs::write(
        proj.join("npm/package-lock.json"),
        r#"{
  "name": "semver",
  "lockfileVersion": 1,
  "dependencies": {
    "a": {
      "version": "1.0.0",
      "requires": {
        "semver": "^5.0.0"
      },
      "dependencies": {
        "semver": {
          "version": "5.7.1"
        }
      }
    },
    "semver": {
      "version": "7.5.4"
    }
  }
}
"#,
    )
    .unwrap();
    let out = palisade(
        &data,
        &["scan", "deps", proj.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, String, String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["purl"].as_str().unwrap().to_string(),
                f["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                f["package"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |id: &str, purl: &str, file: &str, package: &str, line: u64| {
        (id.into(), purl.into(), file.into(), package.into(), line)
    };
    assert_eq!(
        got,
        [
            row(
                "GHSA-cccc-cccc-cccc",
                "pkg:npm/semver@5.7.1",
                "package-lock.json",
                "semver",
                11
            ),
            row(
                "GHSA-bbbb-bbbb-bbbb",
                "pkg:npm/react-dom@18.2.0",
                "pnpm-lock.yaml",
                "react-dom",
                5
            ),
            row(
                "GHSA-aaaa-aaaa-aaaa",
                "pkg:npm/string-width@4.2.3",
                "yarn.lock",
                "string-width",
                4
            ),
        ]
    );
    // One package per (name, version) in the pnpm and yarn lockfiles.
    let counts: Vec<u64> = v["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["packages"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [3, 1, 1]);

    let out = palisade(
        &data,
        &[
            "scan",
            "deps",
            proj.join("npm/package-lock.json").to_str().unwrap(),
            "--format",
            "sarif",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        11
    );

    // The SBOM names the real package once, with its purl.
    let out = palisade(&data, &["sbom", proj.join("yarn").to_str().unwrap()]);
    let bom: Value = serde_json::from_slice(&out.stdout).unwrap();
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(purls, ["pkg:npm/string-width@4.2.3"]);
}
