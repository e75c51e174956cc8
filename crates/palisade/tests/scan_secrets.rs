//! Integration tests of `palisade scan secrets`: the real binary, in temp dirs.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

// Synthetic tokens, split so this file itself does not contain a whole one.
const GH: &str = concat!("gh", "p_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");
const GH2: &str = concat!("gh", "p_zY9xW7vU5tS3rQ1pO9nM7lK5jI3hG1fE9dC7");
const AWS_ID: &str = concat!("AK", "IA4XQ7RZ2M6PLKJ3WN");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn palisade(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.current_dir(dir)
        .args(args)
        .env("HOME", dir)
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn palisade: {e}"));
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        si.write_all(input)
            .unwrap_or_else(|e| panic!("write stdin: {e}"));
    }
    let o = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn scan(dir: &Path, extra: &[&str]) -> Out {
    let mut args = vec!["scan", "secrets"];
    args.extend_from_slice(extra);
    palisade(dir, &args, None)
}

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn json(o: &Out) -> Value {
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", o.stdout))
}

fn rule_ids(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["rule_id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn exit_0_when_clean_and_1_with_redacted_findings() {
    let d = tmp();
    write(
        d.path(),
        "src/main.rs",
        "fn main() { println!(\"hello\"); }\n",
    );
    let o = scan(d.path(), &["."]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "");

    write(
        d.path(),
        "src/config.py",
        format!("\n\nGITHUB = \"{GH}\"\n"),
    );
    let o = scan(d.path(), &["."]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains("github-pat"), "{}", o.stdout);
    assert!(o.stdout.contains("src/config.py:3:11"), "{}", o.stdout);
    assert!(
        !o.stdout.contains(GH),
        "secret must be redacted by default: {}",
        o.stdout
    );
    assert!(
        !o.stdout.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
    // No progress bar either: stderr is not a terminal, so it holds plain lines only.
    assert!(
        !o.stderr.contains('\r') && !o.stderr.contains('\x1b'),
        "{:?}",
        o.stderr
    );
    assert!(o.stderr.ends_with("over the size cap\n"), "{:?}", o.stderr);

    let o = scan(d.path(), &[".", "--show-secrets"]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains(GH), "{}", o.stdout);
}

#[test]
fn stdin_dash_is_scanned() {
    let d = tmp();
    let input = format!("export AWS_ACCESS_KEY_ID={AWS_ID}\n");
    let o = palisade(
        d.path(),
        &["scan", "secrets", "-", "--format", "json"],
        Some(input.as_bytes()),
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(rule_ids(&v), vec!["aws-access-key-id"]);
    assert_eq!(v["findings"][0]["path"], "<stdin>");
    assert_eq!(v["findings"][0]["line"], 1);
    let o = palisade(
        d.path(),
        &["scan", "secrets", "-"],
        Some(b"nothing to see\n"),
    );
    assert_eq!(o.code, 0);
}

#[test]
fn json_output_has_fingerprints_and_redacted_secrets() {
    let d = tmp();
    write(d.path(), "a.env", format!("TOKEN={GH}\n"));
    let o = scan(d.path(), &[".", "--format", "json"]);
    assert_eq!(o.code, 1);
    let v = json(&o);
    let f = &v["findings"][0];
    assert_eq!(f["rule_id"], "github-pat");
    assert_eq!(f["path"], "a.env");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["fingerprint"].as_str().map(str::len), Some(64));
    assert_eq!(f["secret"], "ghp_*****");
    assert_eq!(v["stats"]["files_scanned"], 1);
}

#[test]
fn invalid_rules_file_is_exit_2_naming_file_and_line() {
    let d = tmp();
    write(
        d.path(),
        "rules.toml",
        "[[rules]]\nid = \"mine\"\ndescription = \"x\"\nkeywords = [\"k\"]\nregex = '''(unclosed'''\n",
    );
    let o = scan(d.path(), &[".", "--config", "rules.toml"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("rules.toml:5:"), "{}", o.stderr);
    assert!(o.stderr.contains("invalid regex"), "{}", o.stderr);
    assert_eq!(o.stdout, "");
}

#[test]
fn custom_rules_and_allowlists_from_config() {
    let d = tmp();
    write(
        d.path(),
        "palisade-rules.toml",
        r#"
[[rules]]
id = "acme-token"
description = "ACME internal token"
severity = "high"
keywords = ["acme_"]
regex = '''\b(acme_[a-z0-9]{20})\b'''
examples = ["acme_5820913746abcdefghij"]
negative_examples = ["acme_short"]
[rules.allowlist]
stopwords = ["00000"]

[allowlist]
paths = ['''^fixtures/''']
regexes = ['''^ghp_zY9''']
"#,
    );
    write(
        d.path(),
        "src/a.txt",
        "t = acme_5820913746abcdefghij\nu = acme_00000abcdefghij12345\n",
    );
    write(d.path(), "fixtures/b.txt", format!("{GH}\n"));
    write(d.path(), "src/c.txt", format!("{GH2}\n"));
    let o = scan(
        d.path(),
        &[
            "src",
            "fixtures",
            "--config",
            "palisade-rules.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(rule_ids(&v), vec!["acme-token"], "{v}");
    assert_eq!(v["findings"][0]["line"], 1);
}

#[test]
fn inline_allow_comment_silences_the_line() {
    let d = tmp();
    write(
        d.path(),
        "a.py",
        format!("T = \"{GH}\"  # palisade:allow (test fixture)\n"),
    );
    let o = scan(d.path(), &["."]);
    assert_eq!(o.code, 0, "{}", o.stdout);
}

#[test]
fn gitignore_and_palisadeignore_are_respected_and_dotfiles_scanned() {
    let d = tmp();
    write(d.path(), ".gitignore", "build/\n");
    write(d.path(), ".palisadeignore", "testdata/\n");
    write(d.path(), "build/out.txt", format!("{GH}\n"));
    write(d.path(), "testdata/fake.txt", format!("{GH}\n"));
    write(d.path(), ".env", format!("GH={GH2}\n"));
    let o = scan(d.path(), &[".", "--format", "json"]);
    assert_eq!(o.code, 1);
    let v = json(&o);
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(paths, vec![".env"]);
}

#[test]
fn binary_files_are_skipped_and_size_cap_is_reported() {
    let d = tmp();
    let mut bin = vec![0u8, 1, 2, 3];
    bin.extend_from_slice(GH.as_bytes());
    write(d.path(), "image.bin", &bin);
    let mut big = "x ".repeat(1000);
    big.push_str(GH);
    write(d.path(), "big.txt", &big);
    // A file skipped for its size means the run cannot be called clean (issue 18).
    let o = scan(d.path(), &[".", "--max-file-size", "1K"]);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("big.txt: skipped"), "{}", o.stderr);
    let o = scan(d.path(), &[".", "--max-file-size", "1K", "--skip-ok"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("skipped 1 binary, 1 over the size cap"),
        "{}",
        o.stderr
    );
    let o = scan(d.path(), &[".", "--max-file-size", "1M"]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("big.txt"), "{}", o.stdout);
    assert!(!o.stdout.contains("image.bin"), "{}", o.stdout);
}

#[test]
fn invalid_utf8_file_is_scanned() {
    let d = tmp();
    let mut data = b"\xff\xfe\xfd garbage \xc3\x28\n".to_vec();
    data.extend_from_slice(format!("key = {GH} ").as_bytes());
    data.extend_from_slice(b"\xe2\x82\n");
    data.extend_from_slice(b"\x80\x81\n");
    write(d.path(), "latin1.txt", &data);
    let o = scan(d.path(), &[".", "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(v["findings"][0]["line"], 2);
}

#[test]
fn a_single_200mb_line_is_scanned_without_trouble() {
    let d = tmp();
    let p = d.path().join("huge.txt");
    {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&p).unwrap_or_else(|e| panic!("{e}")));
        let chunk = "abcdefgh".repeat(1 << 16); // 512 KiB, no newline
        for _ in 0..400 {
            f.write_all(chunk.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        write!(f, " token={GH}").unwrap_or_else(|e| panic!("{e}"));
    }
    // The default cap (64 MiB) skips it, says so, and exits 2 (not clean) without --skip-ok.
    let o = scan(d.path(), &["."]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("huge.txt: skipped"), "{}", o.stderr);
    // Raised cap: scanned, found at the end of the line.
    let o = scan(
        d.path(),
        &[".", "--max-file-size", "300M", "--format", "json"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(v["findings"][0]["line"], 1);
    assert_eq!(v["findings"][0]["column"], 400 * 524_288 + 8);
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_hang_and_are_reported() {
    let d = tmp();
    write(d.path(), "real/a.txt", format!("{GH}\n"));
    std::os::unix::fs::symlink("..", d.path().join("real/loop")).unwrap_or_else(|e| panic!("{e}"));
    let o = scan(d.path(), &[".", "--follow-symlinks"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("symlink loop"), "{}", o.stderr);
    assert_eq!(o.stdout.matches("github-pat").count(), 1, "{}", o.stdout);
    // Without following, the link is not walked at all.
    let o = scan(d.path(), &["."]);
    assert_eq!(o.code, 1);
    assert!(!o.stderr.contains("symlink loop"));
}

#[test]
fn unreadable_input_is_reported_and_the_scan_goes_on() {
    let d = tmp();
    write(d.path(), "ok.txt", format!("{GH}\n"));
    let o = scan(d.path(), &["missing.txt", "ok.txt"]);
    assert_eq!(o.code, 1, "findings win over read errors: {}", o.stderr);
    assert!(o.stderr.contains("missing.txt"), "{}", o.stderr);
    assert!(o.stdout.contains("ok.txt"));
    // Only an unreadable input and nothing found: exit 2, not a false "clean".
    let o = scan(d.path(), &["missing.txt"]);
    assert_eq!(o.code, 2, "{}", o.stderr);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        write(d.path(), "locked/secret.txt", format!("{GH}\n"));
        let p = d.path().join("locked/secret.txt");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000))
            .unwrap_or_else(|e| panic!("{e}"));
        let readable_anyway = std::fs::read(&p).is_ok(); // root ignores permissions
        let o = scan(d.path(), &["locked"]);
        if readable_anyway {
            assert_eq!(o.code, 1);
        } else {
            assert_eq!(o.code, 2, "{}", o.stderr);
            assert!(o.stderr.contains("locked/secret.txt"), "{}", o.stderr);
        }
    }
}

#[test]
fn sarif_validates_against_the_2_1_0_schema_and_has_partial_fingerprints() {
    let Some(v) = palisade_test_support::SarifSchema::load() else {
        return;
    };
    let d = tmp();
    write(
        d.path(),
        "dir with space/conf.yml",
        format!("token: {GH}\naws: {AWS_ID}\n"),
    );
    let o = scan(d.path(), &[".", "--format", "sarif"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let sarif = json(&o);
    if let Some(e) = v.errors(&sarif) {
        panic!("SARIF does not validate: {e}\n{sarif:#}");
    }
    // And an invalid document is rejected, so the check is real.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::String("catastrophic".into());
    assert!(v.errors(&broken).is_some(), "the schema check is real");

    let results = sarif["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(
            r["partialFingerprints"]["palisadeSecret/v1"]
                .as_str()
                .map(str::len),
            Some(64)
        );
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dir%20with%20space/conf.yml"
        );
    }
    assert!(!o.stdout.contains(GH), "SARIF redacts secrets by default");
}

#[test]
fn baseline_silences_known_findings_even_after_code_moves() {
    let d = tmp();
    write(d.path(), "app.cfg", format!("token = {GH}\n"));
    let o = scan(d.path(), &["app.cfg", "--write-baseline", "baseline.json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let b =
        std::fs::read_to_string(d.path().join("baseline.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!b.contains(GH), "a baseline never stores the secret");
    // Move the line down: still silenced.
    write(d.path(), "app.cfg", format!("# header\n\n\ntoken = {GH}\n"));
    let o = scan(d.path(), &["app.cfg", "--baseline", "baseline.json"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    // A new secret is still reported.
    write(
        d.path(),
        "app.cfg",
        format!("token = {GH}\nother = {GH2}\n"),
    );
    let o = scan(
        d.path(),
        &["app.cfg", "--baseline", "baseline.json", "--format", "json"],
    );
    assert_eq!(o.code, 1);
    assert_eq!(json(&o)["findings"].as_array().map(Vec::len), Some(1));
    // A broken baseline is an error naming the file.
    write(d.path(), "bad.json", "{\"nope\": 1}");
    let o = scan(d.path(), &["app.cfg", "--baseline", "bad.json"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("bad.json"), "{}", o.stderr);
}

#[test]
fn gitleaks_config_rules_are_used_and_unsupported_fields_reported() {
    let d = tmp();
    write(
        d.path(),
        ".gitleaks.toml",
        r#"title = "x"
[[rules]]
id = "acme"
description = "ACME key"
regex = '''acme-([0-9a-f]{16})'''
secretGroup = 1
keywords = ["acme-"]
[[rules.allowlists]]
commits = ["deadbeef"]
"#,
    );
    write(d.path(), "a.txt", "k = acme-0123456789abcdef\n");
    let o = scan(
        d.path(),
        &[
            "a.txt",
            "--no-builtin-rules",
            "--gitleaks-config",
            ".gitleaks.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(rule_ids(&json(&o)), vec!["acme"]);
    assert!(
        o.stderr.contains(
            ".gitleaks.toml:9: `rules[0] (id \"acme\").allowlists[0].commits` not honoured"
        ),
        "{}",
        o.stderr
    );
}

// ---------- git

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Dev")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Dev")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09+02:00")
        .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:09+02:00")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(st.success(), "git {args:?} failed");
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn repo() -> tempfile::TempDir {
    let d = tmp();
    git(d.path(), &["init", "-q", "-b", "main"]);
    d
}

#[test]
fn git_history_finds_a_secret_committed_then_deleted() {
    let d = repo();
    write(d.path(), "README.md", "hello\n");
    write(d.path(), "deploy/creds.env", format!("GH_TOKEN={GH}\n"));
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "add deploy"]);
    let leak_commit = git_out(d.path(), &["rev-parse", "HEAD"]);
    git(d.path(), &["rm", "-q", "deploy/creds.env"]);
    git(d.path(), &["commit", "-q", "-m", "oops, remove creds"]);
    // A second branch with another secret: every ref counts.
    git(d.path(), &["checkout", "-q", "-b", "feature"]);
    write(d.path(), "src/x.txt", format!("{GH2}\n"));
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "feature"]);
    git(d.path(), &["checkout", "-q", "main"]);

    // The working tree is clean...
    assert_eq!(scan(d.path(), &["."]).code, 0);
    // ...the history is not.
    let o = scan(d.path(), &["--git", "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 2, "{v:#}");
    let f = findings
        .iter()
        .find(|f| f["path"] == "deploy/creds.env")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(f["commit"]["commit"], leak_commit.as_str());
    assert_eq!(f["commit"]["author"], "Ada Dev");
    assert_eq!(f["commit"]["email"], "ada@example.com");
    assert_eq!(f["commit"]["date"], "2024-05-06T07:08:09+02:00");
    assert!(findings.iter().any(|f| f["path"] == "src/x.txt"));
    // Table shows the commit too.
    let o = scan(d.path(), &["--git"]);
    assert!(o.stdout.contains(&leak_commit[..12]), "{}", o.stdout);
}

#[test]
fn each_blob_is_scanned_once_across_commits() {
    let d = repo();
    write(d.path(), "a.txt", format!("{GH}\n"));
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "one"]);
    for i in 0..3 {
        write(d.path(), &format!("other{i}.txt"), format!("{i}\n"));
        git(d.path(), &["add", "."]);
        git(d.path(), &["commit", "-q", "-m", "more"]);
    }
    let o = scan(d.path(), &["--git", "--format", "json"]);
    let v = json(&o);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1), "{v:#}");
    assert_eq!(v["stats"]["files_scanned"], 4); // a.txt + other0..2, each once
}

#[test]
fn git_history_includes_blobs_reachable_only_through_a_tag() {
    let d = repo();
    write(d.path(), "README.md", "hello\n");
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "init"]);
    // A blob that no commit contains, kept alive only by a lightweight tag.
    write(d.path(), "loose.txt", format!("{GH}\n"));
    let oid = git_out(d.path(), &["hash-object", "-w", "loose.txt"]);
    std::fs::remove_file(d.path().join("loose.txt")).unwrap_or_else(|e| panic!("{e}"));
    git(d.path(), &["tag", "stash-of-a-blob", &oid]);
    let o = scan(d.path(), &["--git", "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(v["findings"][0]["path"], "refs/tags/stash-of-a-blob");
    assert!(v["findings"][0].get("commit").is_none());
}

#[test]
fn staged_scans_the_index_not_the_working_tree() {
    let d = repo();
    write(d.path(), "clean.txt", "ok\n");
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "init"]);
    // Unstaged secret: not part of the commit being made.
    write(d.path(), "clean.txt", format!("{GH}\n"));
    let o = scan(d.path(), &["--staged"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    write(d.path(), "new.txt", format!("{GH2}\n"));
    git(d.path(), &["add", "new.txt"]);
    let o = scan(d.path(), &["--staged", "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o);
    assert_eq!(v["findings"][0]["path"], "new.txt");
    assert!(v["findings"][0].get("commit").is_none());
}

#[test]
fn corrupted_git_object_is_reported_and_the_scan_goes_on() {
    let d = repo();
    write(d.path(), "good.txt", format!("{GH}\n"));
    write(d.path(), "victim.txt", format!("{GH2}\n"));
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "init"]);
    let oid = git_out(d.path(), &["rev-parse", "HEAD:victim.txt"]);
    let obj = d
        .path()
        .join(".git/objects")
        .join(&oid[..2])
        .join(&oid[2..]);
    let mut perms = std::fs::metadata(&obj)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&obj, perms).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&obj, b"this is not a zlib stream").unwrap_or_else(|e| panic!("{e}"));
    let o = scan(d.path(), &["--git", "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains(&oid), "{}", o.stderr);
    assert!(o.stderr.contains("victim.txt"), "{}", o.stderr);
    assert_eq!(rule_ids(&json(&o)), vec!["github-pat"]);
    // Nothing else to find: the unreadable object makes it exit 2, never a false clean 0.
    let rules = d
        .path()
        .join("..")
        .join(format!("never-{}.toml", std::process::id()));
    std::fs::write(&rules, "[[rules]]\nid = \"never\"\ndescription = \"d\"\nkeywords = [\"zqxjkvw\"]\nregex = 'zqxjkvw'\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let rules_arg = rules.display().to_string();
    let o = scan(
        d.path(),
        &["--git", "--no-builtin-rules", "--config", &rules_arg],
    );
    let _ = std::fs::remove_file(&rules);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

#[test]
fn not_a_repository_is_exit_2() {
    let d = tmp();
    let o = scan(d.path(), &["--git"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("git"), "{}", o.stderr);
}

/// Issue 18: the default report shows high- and medium-confidence findings outside test,
/// example and docs paths; `--all` shows the rest, each with its confidence and flags, in the
/// table, JSON and SARIF.
#[test]
fn default_view_hides_flagged_findings_and_all_shows_them_with_confidence_and_flags() {
    let d = tmp();
    write(
        d.path(),
        "src/app.py",
        "api_key = \"fake_q8Zr2LmX0vB7nT4kW9sE1cY6\"\nkey = \"AKIAIOSFODNN7EXAMPLE\"\n", // palisade:allow (synthetic test vector)
    );
    write(
        d.path(),
        "tests/fixtures/conf.py",
        format!("t = \"{GH}\"\n"),
    );
    write(d.path(), "docs/setup.md", format!("t = \"{GH2}\"\n"));
    let o = scan(d.path(), &["."]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(o.stdout, "");
    assert!(
        o.stderr.contains(
            "0 finding(s) (4 hidden: low confidence or a test/example/docs/locale path; --all shows them)"
        ),
        "{}",
        o.stderr
    );

    let o = scan(d.path(), &[".", "--all"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains("low    generic-secret"), "{}", o.stdout);
    assert!(o.stdout.contains("[example-value]"), "{}", o.stdout);
    assert!(o.stdout.contains("high   github-pat"), "{}", o.stdout);
    assert!(o.stdout.contains("[test-path]"), "{}", o.stdout);

    let v = json(&scan(d.path(), &[".", "--all", "--format", "json"]));
    let by_path: Vec<(String, String, Value)> = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["confidence"].as_str().unwrap_or("").to_string(),
                f["flags"].clone(),
            )
        })
        .collect();
    assert_eq!(
        by_path,
        vec![
            (
                "docs/setup.md".into(),
                "high".into(),
                serde_json::json!(["docs-path"])
            ),
            (
                "src/app.py".into(),
                "low".into(),
                serde_json::json!(["example-value"])
            ),
            (
                "src/app.py".into(),
                "low".into(),
                serde_json::json!(["example-value"])
            ),
            (
                "tests/fixtures/conf.py".into(),
                "high".into(),
                serde_json::json!(["test-path"])
            ),
        ],
        "{v}"
    );

    let o = scan(d.path(), &[".", "--all", "--format", "sarif"]);
    let v = json(&o);
    let results = v["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 4, "{v}");
    let low = &results[1];
    assert_eq!(low["rank"], 20.0, "{low}");
    assert_eq!(low["level"], "note", "{low}");
    assert_eq!(low["properties"]["confidence"], "low", "{low}");
    assert_eq!(
        low["properties"]["flags"],
        serde_json::json!(["example-value"])
    );
    let high = &results[3];
    assert_eq!(high["rank"], 90.0, "{high}");
    assert_eq!(high["level"], "error", "{high}");
    assert_eq!(
        high["properties"]["flags"],
        serde_json::json!(["test-path"])
    );
    assert_eq!(high["properties"]["shownByDefault"], false);
}

/// Issue 18: `/dev/stdin`, `<(…)` pipes and other non-regular files named on the command line
/// are read, not skipped silently.
#[cfg(unix)]
#[test]
fn dev_stdin_and_pipes_named_on_the_command_line_are_read() {
    let d = tmp();
    let input = format!("token = \"{GH}\"\n");
    let o = palisade(
        d.path(),
        &["scan", "secrets", "/dev/stdin", "--format", "json"],
        Some(input.as_bytes()),
    );
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let v = json(&o);
    assert_eq!(rule_ids(&v), vec!["github-pat"], "{v}");
    assert_eq!(v["findings"][0]["path"], "/dev/stdin");
    // A clean pipe is clean, and was read (one file scanned).
    let o = palisade(
        d.path(),
        &["scan", "secrets", "/dev/stdin"],
        Some(b"nothing here\n"),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("scanned 1 file(s), 13 bytes"),
        "{}",
        o.stderr
    );
}

/// Issue 18: an input skipped for its size, or a binary file named on the command line, is
/// listed and makes the run exit 2 (it cannot be called clean) unless `--skip-ok`.
#[test]
fn skipped_inputs_are_listed_and_exit_2_unless_skip_ok() {
    let d = tmp();
    let mut big = "x ".repeat(1000);
    big.push_str(GH);
    write(d.path(), "big.txt", &big);
    let o = scan(d.path(), &["big.txt", "--max-file-size", "1K"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("big.txt: skipped"), "{}", o.stderr);
    let o = scan(d.path(), &["big.txt", "--max-file-size", "1K", "--skip-ok"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("big.txt: skipped"), "{}", o.stderr);

    let mut bin = vec![0u8, 1, 2, 3];
    bin.extend_from_slice(GH.as_bytes());
    write(d.path(), "sub/image.bin", &bin);
    let o = scan(d.path(), &["sub/image.bin"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("sub/image.bin: skipped: binary"),
        "{}",
        o.stderr
    );
    let o = scan(d.path(), &["sub/image.bin", "--skip-ok"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // A binary met while walking a directory is only counted.
    let o = scan(d.path(), &["sub"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("skipped 1 binary"), "{}", o.stderr);
    // Piped stdin over the cap is a skip too.
    let o = palisade(
        d.path(),
        &["scan", "secrets", "-", "--max-file-size", "1K"],
        Some(big.as_bytes()),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("<stdin>: skipped"), "{}", o.stderr);
}

/// Issue 18: `--follow-symlinks` with a broken link reports the link and goes on; a dangling
/// link holds no content, so it does not make the run fail.
#[cfg(unix)]
#[test]
fn a_broken_symlink_is_reported_not_fatal() {
    let d = tmp();
    write(d.path(), "src/ok.txt", "clean\n");
    std::os::unix::fs::symlink("nowhere.txt", d.path().join("src/dangling"))
        .unwrap_or_else(|e| panic!("{e}"));
    let o = scan(d.path(), &["src", "--follow-symlinks"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("src/dangling: broken symbolic link"),
        "{}",
        o.stderr
    );
    write(d.path(), "src/leak.txt", format!("{GH}\n"));
    let o = scan(d.path(), &["src", "--follow-symlinks"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    // Named on the command line, it is an input that cannot be read, like a missing file.
    let o = scan(d.path(), &["src/dangling"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("broken symbolic link"), "{}", o.stderr);
}

/// Issue 18: the product passes its own scan, every finding included (`--all`). Test vectors
/// are allowlisted where they are (`palisade:allow` on the line, or `.palisadeignore` for
/// whole fixture files), never by turning rules off.
#[test]
fn the_repository_scans_itself_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = palisade(
        &root,
        &[
            "scan",
            "secrets",
            ".",
            "--all",
            "--format",
            "json",
            "--no-progress",
        ],
        None,
    );
    let v = json(&o);
    let found: Vec<String> = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| format!("{}:{} {}", f["path"], f["line"], f["rule_id"]))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(o.code, 0, "{}", o.stderr);
}
