//! Measured quality: recall and precision on leaky-repo (third-party ground truth) and on a
//! planted corpus (synthetic secrets inserted into real files, plus realistic look-alikes).
//! The figures are printed (see BENCHMARKS.md) and guarded by floors so they cannot silently rot.

use palisade_secrets::walk::{self, WalkOptions};
use palisade_secrets::{Finding, Progress, RuleSet, Scanner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shared data missing at {} under CI",
        p.display()
    );
    eprintln!("SKIP: shared data not found at {}", p.display());
    None
}

/// Per-file line-level counts, as leaky-repo's secrets.csv defines them: a file's distinct
/// finding lines up to `risk` are true positives; lines beyond that up to `risk + informative`
/// are informative hits (neither TP nor FP); anything beyond, or in a file not listed, is a FP.
#[derive(Debug, Default, PartialEq)]
pub struct Score {
    pub tp: usize,
    pub fp: usize,
    pub informative: usize,
    pub expected: usize,
}

impl Score {
    fn recall(&self) -> f64 {
        self.tp as f64 / self.expected.max(1) as f64
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
}

fn leaky_score(root: &Path, findings: &[Finding]) -> (Score, Vec<String>) {
    let csv = std::fs::read_to_string(root.join(".leaky-meta/secrets.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut truth: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for line in csv
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let parts: Vec<&str> = line.split(',').collect();
        if let [file, risk, info] = parts[..] {
            truth.insert(
                file.to_string(),
                (risk.parse().unwrap_or(0), info.parse().unwrap_or(0)),
            );
        }
    }
    let prefix = format!("{}/", walk::display_path(root));
    let mut lines: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for f in findings {
        let rel = f.path.strip_prefix(&prefix).unwrap_or(&f.path).to_string();
        lines.entry(rel).or_default().insert(f.line);
    }
    let mut s = Score {
        expected: truth.values().map(|t| t.0).sum(),
        ..Score::default()
    };
    let mut notes = Vec::new();
    for (file, found) in &lines {
        let (risk, info) = truth.get(file).copied().unwrap_or((0, 0));
        let n = found.len();
        let tp = n.min(risk);
        let informative = (n - tp).min(info);
        let fp = n - tp - informative;
        s.tp += tp;
        s.informative += informative;
        s.fp += fp;
        if fp > 0 {
            notes.push(format!("FP {file}: {fp}"));
        }
    }
    for (file, (risk, _)) in &truth {
        let n = lines.get(file).map_or(0, BTreeSet::len);
        if n < *risk {
            notes.push(format!("missed {file}: {} of {risk}", risk - n));
        }
    }
    (s, notes)
}

#[test]
fn leaky_repo_recall_and_precision() {
    let Some(data) = shared_data() else { return };
    let root = data.join("secrets/leaky-repo");
    let scanner = Scanner::new(RuleSet::builtin());
    let out = walk::scan_paths(
        &scanner,
        &[root.as_path()],
        &WalkOptions::default(),
        &Progress::default(),
    );
    assert!(out.issues.iter().all(|i| !i.is_error), "{:?}", out.issues);
    // leaky-repo's ground truth counts `password="password"`, `dummy-pass` and `ExamplePas123`
    // as secrets; palisade finds them but flags them (hidden by default, shown by `--all`). So
    // the floors hold for every finding (`--all`), and the default view is measured and printed.
    let all = out.findings;
    let shown: Vec<Finding> = all
        .iter()
        .filter(|f| f.shown_by_default())
        .cloned()
        .collect();
    for f in all.iter().filter(|f| !f.shown_by_default()) {
        println!(
            "  hidden by default: {}:{} {} {:?} {:?}",
            f.path, f.line, f.rule_id, f.confidence, f.flags
        );
    }
    let (d, _) = leaky_score(&root, &shown);
    let (s, notes) = leaky_score(&root, &all);
    for (view, s) in [("--all", &s), ("default", &d)] {
        println!(
            "leaky-repo {view}: expected {} risk lines; TP {} FP {} informative {}; recall {:.1}% precision {:.1}%",
            s.expected,
            s.tp,
            s.fp,
            s.informative,
            100.0 * s.recall(),
            100.0 * s.precision()
        );
    }
    for n in &notes {
        println!("  {n}");
    }
    assert!(s.recall() >= 0.80, "recall fell to {:.3}", s.recall());
    assert!(
        d.recall() >= 0.75,
        "default recall fell to {:.3}",
        d.recall()
    );
    assert!(
        s.precision() >= 0.95,
        "precision fell to {:.3}",
        s.precision()
    );
}

/// Realistic strings that look like secrets but are not; none may be reported.
const LOOK_ALIKES: &[&str] = &[
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", // palisade:allow (synthetic test vector)
    "password = os.environ[\"DB_PASSWORD\"]",
    "password: ${{ secrets.DB_PASSWORD }}",
    "token: ${{ secrets.GITHUB_TOKEN }}",
    "GITHUB_TOKEN=${GITHUB_TOKEN}",
    "api_key = \"<YOUR_API_KEY>\"",
    "secret_key = settings.SECRET_KEY",
    "const passwordField = document.getElementById(\"password\");",
    "if password == confirm_password {",
    "-----BEGIN PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq8pQ2zR7sVbW3xY9mN4kL6jH1fD5cA0eT8uI2oP7wZ deploy@ci",
    "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "\"integrity\": \"sha512-Q0mSAlbQX4JzAtrXzr2IN0zfiTSfS3OcLXX8Mr7HgnY6sFqoAt0XOR9w8ouCiGiARiPXKNSXkKR3z4eN37uFQ==\"",
    "checksum = \"a0c1d5d8b8a4e8f2c6f0a9e3d7b1c5f9e3a7d1b5c9f3e7a1d5b9c3f7e1a5d9b3\"",
    "id: 123e4567-e89b-12d3-a456-426614174000",
    "placeholder=\"Enter your password\"",
    "password_reset_token_expiry = 3600",
    "DATABASE_URL=postgres://user:password@localhost:5432/dev",
    "redis://localhost:6379/0",
    "https://example.com/path?token=",
    "Authorization: Bearer <token>",
    "secret: !vault |",
    "let token = tokenizer.next_token();",
    "private_key_path = \"~/.ssh/id_rsa\"",
    "export AWS_SECRET_ACCESS_KEY=$AWS_SECRET",
    "sk_live_placeholder",
    "xoxb-your-bot-token",
    "image: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "\"password\": \"\",",
];

#[test]
fn planted_corpus_recall_and_precision() {
    let Some(data) = shared_data() else { return };
    let set = RuleSet::builtin();
    let scanner = Scanner::new(set.clone());
    // Real files: every lockfile of the shared data (hashes, integrity strings, URLs: the
    // classic false-positive bait) plus this crate's own sources.
    let mut hosts: Vec<(String, String)> = Vec::new();
    let mut stack = vec![
        data.join("lockfiles"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    ];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                hosts.push((p.display().to_string(), text));
            }
        }
    }
    hosts.sort();
    assert!(hosts.len() >= 40, "too few host files: {}", hosts.len());

    // Baseline: the real files alone. Anything found there is a false positive.
    let mut fp_lines: Vec<String> = Vec::new();
    for (name, text) in &hosts {
        for f in scanner
            .scan(name, text.as_bytes())
            .into_iter()
            .filter(Finding::shown_by_default)
        {
            fp_lines.push(format!("{name}:{} {}", f.line, f.rule_id));
        }
    }
    // Planted: each rule's first example, and a look-alike, into a different real file each.
    let (mut planted, mut found, mut fp) = (0usize, 0usize, fp_lines.len());
    let mut missed = Vec::new();
    for (i, rule) in set.rules.iter().enumerate() {
        let (name, text) = &hosts[i % hosts.len()];
        let path = match rule.id.as_str() {
            "pgpass-password" => "home/.pgpass".to_string(),
            "rails-master-key" => "config/master.key".to_string(),
            _ => name.clone(),
        };
        let mut lines: Vec<&str> = text.lines().collect();
        let at = (i * 7919) % (lines.len() + 1);
        let secret_lines: Vec<&str> = rule.examples[0].lines().collect();
        let look_alike = LOOK_ALIKES[i % LOOK_ALIKES.len()];
        let content = if path == *name {
            lines.splice(
                at..at,
                secret_lines
                    .iter()
                    .copied()
                    .chain(std::iter::once(look_alike)),
            );
            lines.join("\n")
        } else {
            rule.examples[0].clone()
        };
        let first_line = if path == *name { at + 1 } else { 1 };
        let last_line = first_line + secret_lines.len() - 1;
        planted += 1;
        let findings: Vec<Finding> = scanner
            .scan(&path, content.as_bytes())
            .into_iter()
            .filter(Finding::shown_by_default)
            .collect();
        let mut hit = false;
        for f in &findings {
            if f.rule_id == rule.id && (first_line..=last_line).contains(&f.line) {
                hit = true;
            } else if !fp_lines.iter().any(|l| l.starts_with(&format!("{name}:"))) || path != *name
            {
                // a finding other than the planted one, in a file that was clean before planting
                fp += 1;
                fp_lines.push(format!(
                    "{path}:{} {} {:?} (after planting {})",
                    f.line, f.rule_id, f.secret, rule.id
                ));
            }
        }
        if hit {
            found += 1;
        } else {
            missed.push(rule.id.clone());
        }
    }
    let recall = found as f64 / planted as f64;
    let precision = found as f64 / (found + fp).max(1) as f64;
    println!(
        "planted corpus: {} host files, {planted} planted secrets, {} look-alikes; found {found}, false positives {fp}; recall {:.1}% precision {:.1}%",
        hosts.len(),
        planted,
        100.0 * recall,
        100.0 * precision
    );
    for l in &fp_lines {
        println!("  FP {l}");
    }
    for m in &missed {
        println!("  missed {m}");
    }
    assert!(recall >= 0.97, "recall {recall:.3}; missed {missed:?}");
    assert!(precision >= 0.95, "precision {precision:.3}; {fp_lines:?}");
}
