//! `Cargo.lock`, formats v1 to v4.
//!
//! v1 keeps checksums in `[metadata]` and writes every dependency as `name version (source)`;
//! v2+ write `name`, or `name version` when the name is ambiguous, and inline checksums.

use std::borrow::Cow;
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::{Package, package_header_lines, toml_error};
use crate::version::Ecosystem;
use crate::{Error, Result};

// `Cow`: the fast path borrows from the text, the TOML parser gives owned strings.
#[derive(Deserialize)]
struct CargoLock<'a> {
    #[serde(default)]
    package: Vec<CargoPackage<'a>>,
}

#[derive(Deserialize)]
struct CargoPackage<'a> {
    name: Cow<'a, str>,
    version: Cow<'a, str>,
    source: Option<Cow<'a, str>>,
    #[serde(default)]
    dependencies: Vec<Cow<'a, str>>,
}

/// Fast path for the layout Cargo itself writes: `[[package]]` tables of `key = "string"`
/// lines and a one-string-per-line `dependencies` array, then an optional `[metadata]`.
/// Returns `None` on anything else, and the general TOML parser takes over (which also gives
/// malformed files their precise error).
fn parse_cargo_written(text: &str) -> Option<(CargoLock<'_>, Vec<usize>)> {
    fn string(v: &str) -> Option<Cow<'_, str>> {
        let inner = v.strip_prefix('"')?.strip_suffix('"')?;
        memchr::memchr2(b'"', b'\\', inner.as_bytes())
            .is_none()
            .then_some(Cow::Borrowed(inner))
    }
    /// `key = value` (one space each side, as Cargo writes).
    fn key_value(line: &str) -> Option<(&str, &str)> {
        let eq = memchr::memchr(b'=', line.as_bytes())?;
        let key = line[..eq].strip_suffix(' ')?;
        let value = line[eq + 1..].strip_prefix(' ')?;
        Some((key, value))
    }
    // Sized exactly (a SIMD count of the headers): regrowing copied the whole vector.
    let count = memchr::memmem::find_iter(text.as_bytes(), b"[[package]]").count();
    let mut packages: Vec<CargoPackage<'_>> = Vec::with_capacity(count);
    let mut lines = Vec::with_capacity(count);
    let mut in_deps = false;
    let mut in_metadata = false;
    // Lines split with SIMD memchr (`str::lines` was a fifth of a scan's parsing cost).
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
    for (i, end) in ends.enumerate() {
        let Some(raw) = text.get(start..end) else {
            break; // past the end: the text ended with a newline
        };
        start = end + 1;
        let line = raw.trim_ascii();
        if in_deps {
            if line == "]" {
                in_deps = false;
            } else {
                let dep = string(line.strip_suffix(',').unwrap_or(line))?;
                packages.last_mut()?.dependencies.push(dep);
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[[package]]" {
            if in_metadata {
                return None;
            }
            packages.push(CargoPackage {
                name: Cow::Borrowed(""),
                version: Cow::Borrowed(""),
                source: None,
                dependencies: Vec::new(),
            });
            lines.push(i + 1);
            continue;
        }
        if line == "[metadata]" {
            in_metadata = true;
            continue;
        }
        if line.starts_with('[') {
            return None;
        }
        let (key, value) = key_value(line)?;
        if in_metadata {
            continue;
        }
        let Some(p) = packages.last_mut() else {
            // Before the first package only the format version may appear.
            if key == "version" && value.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            return None;
        };
        match key {
            "name" => p.name = string(value)?,
            "version" => p.version = string(value)?,
            "source" => p.source = Some(string(value)?),
            "checksum" => {
                string(value)?;
            }
            "dependencies" if value == "[" => {
                // One allocation for most packages instead of regrowing from 4.
                p.dependencies.reserve_exact(16);
                in_deps = true;
            }
            "dependencies" if value == "[]" => {}
            _ => return None,
        }
    }
    if in_deps
        || packages
            .iter()
            .any(|p| p.name.is_empty() || p.version.is_empty())
    {
        return None;
    }
    Some((CargoLock { package: packages }, lines))
}

/// Parse a `Cargo.lock`, with each package's dependencies (`name@version`).
pub fn parse_cargo_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    parse(path, text, true)
}

/// Parse a `Cargo.lock`. Without `graph`, the same packages and the same checks (every
/// dependency must name exactly one package of the file), but no dependency lists: a
/// vulnerability scan does not read them, and they were a third of its cost.
pub(crate) fn parse(path: &Path, text: &str, graph: bool) -> Result<Vec<Package>> {
    let (lock, lines) = match parse_cargo_written(text) {
        Some(fast) => fast,
        None => {
            let lock: CargoLock<'_> =
                toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
            (lock, package_header_lines(text))
        }
    };
    // Per name: its version when the name is unique in the file, `None` when several versions
    // share it (a dependency must then say which).
    let mut versions_by_name: FxHashMap<&str, Option<&str>> =
        FxHashMap::with_capacity_and_hasher(lock.package.len(), Default::default());
    for p in &lock.package {
        versions_by_name
            .entry(&p.name)
            .and_modify(|v| *v = None)
            .or_insert(Some(&p.version));
    }
    let mut out = Vec::with_capacity(lock.package.len());
    for (i, p) in lock.package.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(0);
        let mut deps = Vec::with_capacity(if graph { p.dependencies.len() } else { 0 });
        for d in &p.dependencies {
            let mut parts = d.split_whitespace();
            let name = parts.next().unwrap_or_default();
            let version = match parts.next() {
                Some(v) => v,
                None => match versions_by_name.get(name) {
                    Some(Some(only)) => only,
                    _ => {
                        return Err(Error::parse(
                            path,
                            line,
                            format!(
                                "dependency {d:?} of {} is not in the lockfile or ambiguous",
                                p.name
                            ),
                        ));
                    }
                },
            };
            if graph {
                let mut dep = String::with_capacity(name.len() + 1 + version.len());
                dep.push_str(name);
                dep.push('@');
                dep.push_str(version);
                deps.push(dep);
            }
        }
        out.push(Package {
            name: p.name.to_string(),
            version: p.version.to_string(),
            ecosystem: Ecosystem::CratesIo,
            path: path.to_path_buf(),
            line,
            source: p.source.as_ref().map(|s| s.to_string()),
            dependencies: deps,
            os: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"[[package]]
name = "a"
version = "1.0.0"
dependencies = [
 "b 0.5.1 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "b"
version = "0.5.1"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum b 0.5.1 (registry+https://github.com/rust-lang/crates.io-index)" = "abc"
"#;

    const V4: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "a"
version = "1.0.0"
dependencies = [
 "b 0.5.1",
 "c",
]

[[package]]
name = "b"
version = "0.5.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"

[[package]]
name = "b"
version = "0.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "c"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn v1_packages_lines_and_graph() {
        let p = parse_cargo_lock(Path::new("Cargo.lock"), V1).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(got, [("a", "1.0.0", 1), ("b", "0.5.1", 8)]);
        assert_eq!(p[0].dependencies, ["b@0.5.1"]);
        assert_eq!(p[0].source, None);
        assert_eq!(p[1].purl(), "pkg:cargo/b@0.5.1");
    }

    #[test]
    fn v4_resolves_short_dependency_names() {
        let p = parse_cargo_lock(Path::new("Cargo.lock"), V4).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].line, 4);
        assert_eq!(p[0].dependencies, ["b@0.5.1", "c@2.0.0"]);
        assert_eq!(p[3].line, 23);
    }

    #[test]
    fn fast_path_and_toml_parser_agree() {
        for text in [V1, V4] {
            let (fast, lines) = parse_cargo_written(text).expect("cargo-written layout");
            let slow: CargoLock<'_> = toml::from_str(text).unwrap();
            assert_eq!(lines, package_header_lines(text));
            let key = |l: &CargoLock<'_>| -> Vec<(String, String, Option<String>, Vec<String>)> {
                l.package
                    .iter()
                    .map(|p| {
                        (
                            p.name.to_string(),
                            p.version.to_string(),
                            p.source.as_ref().map(|s| s.to_string()),
                            p.dependencies.iter().map(|d| d.to_string()).collect(),
                        )
                    })
                    .collect()
            };
            assert_eq!(key(&fast), key(&slow));
        }
        // Anything outside the layout Cargo writes goes to the TOML parser.
        assert!(parse_cargo_written("[[package]]\nname = 'a'\nversion = \"1\"\n").is_none());
        assert!(
            parse_cargo_written("[[package]]\nname = \"a\"\nversion = \"1\"\n[patch.unused]\n")
                .is_none()
        );
        let p = parse_cargo_lock(
            Path::new("Cargo.lock"),
            "[[package]]\nname = 'a'\nversion = \"1.0.0\"\n",
        )
        .unwrap();
        assert_eq!((p[0].name.as_str(), p[0].line), ("a", 1));
    }

    #[test]
    fn malformed_lockfile_names_the_line() {
        let bad = V4.replace("version = \"0.6.0\"", "version = 0.6.0\"");
        let e = parse_cargo_lock(Path::new("x/Cargo.lock"), &bad).unwrap_err();
        let Error::Parse { path, line, .. } = e else {
            panic!("{e}")
        };
        assert_eq!((path.to_str().unwrap(), line), ("x/Cargo.lock", 20));
        let missing = V4.replace("name = \"c\"\nversion = \"2.0.0\"\n", "name = \"c\"\n");
        let e = parse_cargo_lock(Path::new("Cargo.lock"), &missing).unwrap_err();
        assert!(matches!(e, Error::Parse { .. }), "{e}");
    }
}
