//! Bad input never stops a scan: each bad file is reported with its path (and position where
//! the format gives one) and every other file is still checked. Through the walk, on a temporary
//! directory.

use std::path::Path;

use palisade_config::walk::{WalkOptions, check_paths, check_reader};
use palisade_config::{Issue, Outcome};

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn issue<'a>(o: &'a Outcome, path_end: &str) -> &'a Issue {
    o.issues
        .iter()
        .find(|i| i.path.ends_with(path_end))
        .unwrap_or_else(|| panic!("no issue for {path_end}: {:#?}", o.issues))
}

fn scan(dir: &Path, opts: &WalkOptions) -> Outcome {
    check_paths(&[dir], opts)
}

const GOOD_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: []\n";

#[test]
fn every_kind_of_bad_file_is_reported_and_the_good_ones_are_checked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(d, "good/pod.yaml", GOOD_POD);
    write(d, "good/Dockerfile", "FROM ubuntu\n");
    write(d, "bad/broken.yaml", "a: [1, 2\nb: 3\n");
    write(
        d,
        "bad/Dockerfile",
        "FROM alpine:3.20\nRUN <<EOF\necho never closed\n",
    );
    write(d, "bad/binary.yaml", b"apiVersion: v1\0\x01\x02");
    write(
        d,
        "bad/latin1.yaml",
        b"apiVersion: v1\nkind: ConfigMap\n# caf\xe9\n",
    );
    let mut big = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    while big.len() < 3000 {
        big.push_str("  key: value-value-value-value-value\n");
    }
    write(d, "bad/big.yaml", &big);
    // Not configuration by name: never read.
    write(d, "notes.txt", b"\0\0\0");
    // JSON that is not a Kubernetes object is left alone, whatever it holds; one that is, is
    // checked.
    write(
        d,
        "web/package.json",
        "{\"name\": \"web\", \"version\": \"1.0.0\"",
    );
    write(d, "web/data.json", b"\xff\x00 binary");
    write(d, "web/big.json", "[".repeat(3000));
    write(
        d,
        "good/pod.json",
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}, "spec": {"hostPID": true, "containers": []}}"#,
    );
    let opts = WalkOptions {
        max_file_size: 2048,
        ..WalkOptions::default()
    };
    let o = scan(d, &opts);

    let broken = issue(&o, "bad/broken.yaml");
    assert!(
        broken.is_error && broken.message.starts_with("not valid YAML"),
        "{broken:?}"
    );
    assert!(
        broken.line.is_some() && broken.column.is_some(),
        "{broken:?}"
    );

    let df = issue(&o, "bad/Dockerfile");
    assert!(df.is_error, "{df:?}");
    assert_eq!(df.line, Some(2), "{df:?}");
    assert!(
        df.message.contains("here-document <<EOF is not closed"),
        "{df:?}"
    );

    let bin = issue(&o, "bad/binary.yaml");
    assert!(bin.skipped && !bin.is_error, "{bin:?}");
    assert!(bin.message.contains("binary"), "{bin:?}");

    let latin = issue(&o, "bad/latin1.yaml");
    assert!(
        latin.is_error && latin.message.starts_with("not UTF-8"),
        "{latin:?}"
    );
    assert_eq!(latin.line, Some(3), "{latin:?}");

    let large = issue(&o, "bad/big.yaml");
    assert!(
        large.skipped && large.message.contains("size cap of 2048"),
        "{large:?}"
    );

    assert_eq!(o.issues.len(), 5, "{:#?}", o.issues);
    assert_eq!((o.stats.skipped_binary, o.stats.skipped_too_large), (1, 1));
    // The good files were checked all the same.
    assert!(
        o.findings
            .iter()
            .any(|f| f.path.ends_with("good/pod.yaml") && f.rule_id == "PAL-K8S-005")
    );
    assert!(
        o.findings.iter().any(|f| f.path.ends_with("good/pod.json")
            && f.rule_id == "PAL-K8S-006"
            && f.line == 1)
    );
    assert!(
        o.findings
            .iter()
            .any(|f| f.path.ends_with("good/Dockerfile") && f.rule_id == "PAL-DF-003")
    );
    assert!(o.has_errors() && o.has_skips());
}

#[test]
fn an_alias_bomb_costs_nothing_and_is_an_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..30 {
        let p = i - 1;
        text.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    write(dir.path(), "bomb.yaml", &text);
    write(dir.path(), "pod.yaml", GOOD_POD);
    let started = std::time::Instant::now();
    let o = scan(dir.path(), &WalkOptions::default());
    let bomb = issue(&o, "bomb.yaml");
    assert!(
        bomb.is_error && bomb.message.contains("alias bomb"),
        "{bomb:?}"
    );
    assert!(o.findings.iter().any(|f| f.path.ends_with("pod.yaml")));
    // 10^30 nodes expanded would never finish; refused, it is instant.
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let depth = 100_000;
    let text = format!("k: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    write(dir.path(), "deep.yaml", &text);
    let mut block = String::new();
    for i in 0..1000 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    write(dir.path(), "deep-block.yml", &block);
    let o = scan(dir.path(), &WalkOptions::default());
    for name in ["deep.yaml", "deep-block.yml"] {
        let i = issue(&o, name);
        assert!(i.is_error, "{i:?}");
        assert!(
            i.message.contains("nested deeper") || i.message.contains("recursion"),
            "{i:?}"
        );
    }
}

#[test]
fn ignore_files_are_honoured_and_named_files_are_read_whatever_their_name() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(d, ".palisadeignore", "vendor/\n");
    write(d, ".gitignore", "build/\n");
    write(d, "vendor/pod.yaml", GOOD_POD);
    write(d, "build/pod.yaml", GOOD_POD);
    write(d, "k8s/pod.yaml", GOOD_POD);
    write(d, "images/api.Dockerfile", "FROM ubuntu\nUSER 1\n");
    write(d, "images/Containerfile.dev", "FROM ubuntu\nUSER 1\n");
    let o = scan(d, &WalkOptions::default());
    let mut paths: Vec<String> = o
        .findings
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(&d.display().to_string())
                .unwrap_or(&f.path)
                .to_string()
        })
        .collect();
    paths.dedup();
    assert_eq!(
        paths,
        [
            "/images/Containerfile.dev",
            "/images/api.Dockerfile",
            "/k8s/pod.yaml"
        ]
    );

    // A Helm chart's templates are Go templates: a warning each, not an error or a skip.
    write(
        d,
        "chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(
        d,
        "chart/templates/pod.yaml",
        "{{- if .Values.on }}\nkind: Pod\n{{- end }}\n",
    );
    let o = scan(&d.join("chart"), &WalkOptions::default());
    let t = issue(&o, "chart/templates/pod.yaml");
    assert!(
        !t.is_error && !t.skipped && t.message.contains("Helm chart template"),
        "{t:?}"
    );
    assert_eq!(o.issues.len(), 1, "{:#?}", o.issues);

    // A file named on the command line: kind from the content.
    write(d, "x/build-spec", "# image\nFROM ubuntu\nUSER 1\n");
    let o = check_paths(&[d.join("x/build-spec").as_path()], &WalkOptions::default());
    assert_eq!(o.stats.dockerfiles, 1);
    assert_eq!(o.findings[0].rule_id, "PAL-DF-003");
    // A missing one is an error with its path.
    let o = check_paths(&[d.join("nope.yaml").as_path()], &WalkOptions::default());
    assert!(o.issues[0].is_error && o.issues[0].path.ends_with("nope.yaml"));
}

#[test]
fn stdin_is_one_input_with_the_same_limits() {
    let opts = WalkOptions {
        max_file_size: 64,
        ..WalkOptions::default()
    };
    let o = check_reader("<stdin>", GOOD_POD.as_bytes(), &opts);
    assert!(
        o.issues[0].skipped && o.issues[0].path == "<stdin>",
        "{:?}",
        o.issues
    );
    let o = check_reader("<stdin>", GOOD_POD.as_bytes(), &WalkOptions::default());
    assert_eq!(o.stats.kubernetes_objects, 1);
    assert!(
        o.findings
            .iter()
            .any(|f| f.rule_id == "PAL-K8S-005" && f.path == "<stdin>")
    );
}

mod never_panics {
    use palisade_config::{InputKind, check_text};
    use proptest::prelude::*;

    const SEEDS: &[&str] = &[
        include_str!("../../../bench/config/fixtures/Dockerfile.node"),
        include_str!("../../../bench/config/fixtures/Dockerfile.python"),
        include_str!("../../../bench/config/fixtures/k8s/daemonset.yaml"),
        include_str!("../../../bench/config/fixtures/compose.yaml"),
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Arbitrary text, and real files cut and spliced with arbitrary text: an issue or
        /// findings, never a panic, with every finding on a line of the file.
        #[test]
        fn on_any_text(
            seed in 0..SEEDS.len(),
            cut in 0usize..4000,
            noise in "[ -~\\t\\n{}\\[\\]:&*!|>$\\\\`\"'#-]{0,200}",
        ) {
            let s = SEEDS[seed];
            let mut at = cut.min(s.len());
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            let text = format!("{}{noise}{}", &s[..at], &s[at..]);
            for kind in [InputKind::Dockerfile, InputKind::Yaml, InputKind::Compose] {
                for input in [text.as_str(), noise.as_str()] {
                    let o = check_text("p", input, kind);
                    let lines = input.split('\n').count().max(1);
                    for f in &o.findings {
                        prop_assert!(f.line >= 1 && f.line <= lines, "{f:?} in {lines} lines");
                        prop_assert!(f.column >= 1, "{f:?}");
                    }
                }
            }
        }
    }
}
