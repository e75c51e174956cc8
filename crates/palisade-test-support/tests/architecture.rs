//! ARCHITECTURE.md stays true: every path its code map names exists, every crate of the
//! workspace is named in it, and every module file of the application and server layers is
//! named (so a new one cannot be added without saying what it is for).

use palisade_test_support::workspace_root;
use std::collections::BTreeSet;
use std::path::Path;

/// The backticked spans of `text` that name a path in the repository.
fn named_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let span = span.trim();
        let is_path = ["crates/", "docs/", "bench/", ".ci/"]
            .iter()
            .any(|p| span.starts_with(p))
            && !span.contains(' ')
            && !span.contains('*')
            && !span.contains('<');
        if is_path {
            out.insert(span.to_string());
        }
    }
    out
}

fn architecture() -> String {
    std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap()
}

#[test]
fn every_path_the_code_map_names_exists() {
    let root = workspace_root();
    let paths = named_paths(&architecture());
    assert!(
        paths.len() > 60,
        "the code map names its files ({})",
        paths.len()
    );
    let missing: Vec<&String> = paths.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

#[test]
fn every_crate_is_named_in_the_code_map() {
    let text = architecture();
    let code_map = &text[..text.find("## Adding").expect("the recipe section")];
    for entry in std::fs::read_dir(workspace_root().join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            code_map.contains(&format!("{name}/")) || code_map.contains(&format!("`{name}`")),
            "ARCHITECTURE.md's code map does not name the crate {name}"
        );
    }
}

#[test]
fn every_source_file_of_the_layers_is_named() {
    let text = architecture();
    let root = workspace_root();
    for dir in [
        "crates/palisade-core/src",
        "crates/palisade-store/src",
        "crates/palisade-app/src",
        "crates/palisade-server/src",
        "crates/palisade-web/src",
        "crates/palisade/src",
    ] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                // A crate's or module directory's root file is named with its directory.
                let is_root_module = p
                    .file_name()
                    .is_some_and(|f| f == "lib.rs" || f == "mod.rs" || f == "main.rs");
                if !rel.ends_with(".rs") || is_root_module {
                    continue;
                }
                let parent = Path::new(&rel)
                    .parent()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert!(
                    text.contains(&format!("`{rel}`")) || text.contains(&format!("`{parent}/`")),
                    "ARCHITECTURE.md does not say what {rel} is for"
                );
            }
        }
    }
}
