//! JavaScript: `package-lock.json` v1–v3 and `npm-shrinkwrap.json`, `yarn.lock` (classic and
//! berry), `pnpm-lock.yaml`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use super::{Package, json_error};
use crate::version::Ecosystem;
use crate::{Error, Result};

fn pkg(path: &Path, line: usize, name: &str, version: &str) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem: Ecosystem::Npm,
        path: path.to_path_buf(),
        line,
        source: None,
        dependencies: Vec::new(),
        os: None,
    }
}

/// Line of the first `"key":` in a JSON text, per key (first occurrence wins).
fn json_key_lines(text: &str) -> HashMap<&str, usize> {
    let mut out = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix('"')
            && let Some(end) = rest.find("\":")
        {
            out.entry(&rest[..end]).or_insert(i + 1);
        }
    }
    out
}

#[derive(Deserialize)]
struct NpmLock {
    #[serde(default)]
    packages: Option<BTreeMap<String, NpmEntry>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, NpmV1Entry>>,
}

#[derive(Deserialize)]
struct NpmEntry {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    link: bool,
    resolved: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct NpmV1Entry {
    version: String,
    resolved: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, NpmV1Entry>,
}

fn looks_like_version(v: &str) -> bool {
    v.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

/// Parse `package-lock.json` / `npm-shrinkwrap.json` (v2/v3 `packages`, else v1 `dependencies`).
pub fn parse_package_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    let lock: NpmLock = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let lines = json_key_lines(text);
    let mut out = Vec::new();
    if let Some(packages) = &lock.packages {
        // node_modules path -> name@version, for resolving the dependency graph.
        let mut at: HashMap<&str, String> = HashMap::new();
        for (key, e) in packages {
            // The root ("") and workspace sources ("packages/x") are not installed packages.
            if !key.contains("node_modules/") || e.link {
                continue;
            }
            let name = e.name.clone().unwrap_or_else(|| {
                key.rsplit("node_modules/")
                    .next()
                    .unwrap_or(key)
                    .to_string()
            });
            let Some(version) = e.version.as_deref().filter(|v| looks_like_version(v)) else {
                continue;
            };
            at.insert(key, format!("{name}@{version}"));
        }
        for (key, e) in packages {
            let Some(id) = at.get(key.as_str()) else {
                continue;
            };
            let (name, version) = id.rsplit_once('@').unwrap_or((id, ""));
            let mut p = pkg(
                path,
                lines.get(key.as_str()).copied().unwrap_or(0),
                name,
                version,
            );
            p.source = e.resolved.clone();
            for dep in e.dependencies.keys().chain(e.optional_dependencies.keys()) {
                // Node resolution: nearest node_modules up the tree.
                let mut base = key.as_str();
                loop {
                    let cand = format!("{base}/node_modules/{dep}");
                    let cand = cand.trim_start_matches('/');
                    if let Some(d) = at.get(cand) {
                        p.dependencies.push(d.clone());
                        break;
                    }
                    if base.is_empty() {
                        break;
                    }
                    base = match base.rfind("/node_modules/") {
                        Some(i) => &base[..i],
                        None => "",
                    };
                }
            }
            out.push(p);
        }
    } else if let Some(deps) = &lock.dependencies {
        fn walk(
            path: &Path,
            lines: &HashMap<&str, usize>,
            deps: &BTreeMap<String, NpmV1Entry>,
            out: &mut Vec<Package>,
        ) {
            for (name, e) in deps {
                if looks_like_version(&e.version) {
                    let mut p = pkg(
                        path,
                        lines.get(name.as_str()).copied().unwrap_or(0),
                        name,
                        &e.version,
                    );
                    p.source = e.resolved.clone();
                    out.push(p);
                }
                walk(path, lines, &e.dependencies, out);
            }
        }
        walk(path, &lines, deps, &mut out);
    } else {
        return Err(Error::parse(
            path,
            1,
            "neither `packages` nor `dependencies`: not an npm lockfile",
        ));
    }
    Ok(out)
}

/// The package name of a yarn descriptor such as `"@babel/core@^7.0.0"` or `lodash@npm:^4`.
fn yarn_name(spec: &str) -> Option<&str> {
    let s = spec.trim().trim_matches('"');
    let at = s.match_indices('@').map(|(i, _)| i).find(|&i| i > 0)?;
    Some(&s[..at])
}

/// Parse a `yarn.lock`, classic (v1) or berry (YAML); both are read line by line.
pub fn parse_yarn_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    struct Entry<'a> {
        name: &'a str,
        line: usize,
        version: Option<String>,
        local: bool,
    }
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            let Some(header) = line.strip_suffix(':') else {
                return Err(Error::parse(
                    path,
                    i + 1,
                    format!("expected `descriptor:`, got {line:?}"),
                ));
            };
            if header.trim_matches('"') == "__metadata" {
                entries.push(Entry {
                    name: "",
                    line: i + 1,
                    version: None,
                    local: true,
                });
                continue;
            }
            let first = header.split(", ").next().unwrap_or(header);
            let Some(name) = yarn_name(first) else {
                return Err(Error::parse(
                    path,
                    i + 1,
                    format!("not a package descriptor: {header:?}"),
                ));
            };
            entries.push(Entry {
                name,
                line: i + 1,
                version: None,
                local: false,
            });
            continue;
        }
        let Some(cur) = entries.last_mut() else {
            return Err(Error::parse(path, i + 1, "indented line before any entry"));
        };
        let t = line.trim_start();
        // Only the entry's own fields (two-space indent), not nested dependency maps.
        if line.len() - t.len() != 2 {
            continue;
        }
        if let Some(v) = t.strip_prefix("version") {
            let v = v.trim_start_matches(':').trim().trim_matches('"');
            cur.version = Some(v.to_string());
        } else if let Some(r) = t.strip_prefix("resolution:")
            && (r.contains("@workspace:") || r.contains("@link:") || r.contains("@portal:"))
        {
            cur.local = true;
        }
    }
    let mut out = Vec::new();
    for e in entries {
        if e.local {
            continue;
        }
        let Some(v) = e.version else {
            return Err(Error::parse(
                path,
                e.line,
                format!("entry {} has no version", e.name),
            ));
        };
        if v == "0.0.0-use.local" {
            continue;
        }
        out.push(pkg(path, e.line, e.name, &v));
    }
    Ok(out)
}

/// Parse a `pnpm-lock.yaml` (lockfile versions 5 to 9: keys `/name/1.0.0`, `/name@1.0.0`,
/// `name@1.0.0(peer@2)`).
pub fn parse_pnpm_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    // Typed, so the large `importers` and `snapshots` sections are skipped, not built as trees;
    // `packages` keeps file order.
    #[derive(Deserialize)]
    struct PnpmLock {
        #[serde(default, deserialize_with = "ordered")]
        packages: Vec<(serde_norway::Value, PnpmEntry)>,
    }
    #[derive(Deserialize)]
    struct PnpmEntry {
        version: Option<serde_norway::Value>,
        name: Option<String>,
    }
    fn ordered<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<(serde_norway::Value, PnpmEntry)>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<(serde_norway::Value, PnpmEntry)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of packages")
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry()? {
                    out.push(kv);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
    let doc: PnpmLock = serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        Error::parse(path, line, e.to_string())
    })?;
    let packages = doc.packages;
    let mut lines: HashMap<String, usize> = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        if let Some(k) = l.strip_prefix("  ").filter(|k| !k.starts_with(' ')) {
            let k = k
                .trim_end()
                .trim_end_matches(':')
                .trim_matches('\'')
                .trim_matches('"');
            lines.entry(k.to_string()).or_insert(i + 1);
        }
    }
    let mut out = Vec::new();
    for (k, v) in packages {
        let Some(key) = k.as_str() else { continue };
        let bare = key.split('(').next().unwrap_or(key);
        let bare = bare.strip_prefix('/').unwrap_or(bare);
        let split = match bare.rfind('@').filter(|&i| i > 0) {
            Some(i) => Some((&bare[..i], &bare[i + 1..])),
            None => bare.rsplit_once('/'),
        };
        let version_field = v.version.as_ref().and_then(|x| x.as_str());
        let (name, version) = match (split, version_field) {
            (Some((n, ver)), _) if looks_like_version(ver) => (n.to_string(), ver.to_string()),
            (_, Some(ver)) if looks_like_version(ver) => {
                let n = v.name.as_deref().unwrap_or(bare);
                (n.to_string(), ver.to_string())
            }
            _ => continue,
        };
        out.push(pkg(
            path,
            lines.get(key).copied().unwrap_or(0),
            &name,
            &version,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_lock_v3_with_nested_modules_and_graph() {
        let text = r#"{
  "lockfileVersion": 3,
  "packages": {
    "": { "name": "app", "dependencies": { "a": "^1" } },
    "node_modules/a": { "version": "1.0.0", "dependencies": { "b": "^2" } },
    "node_modules/a/node_modules/b": { "version": "2.0.0" },
    "node_modules/b": { "version": "1.0.0" },
    "node_modules/@s/c": { "version": "3.0.0-rc.1" },
    "packages/ws": { "version": "0.0.1" },
    "node_modules/ws": { "resolved": "packages/ws", "link": true }
  }
}"#;
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [
                ("@s/c", "3.0.0-rc.1", 8),
                ("a", "1.0.0", 5),
                ("b", "2.0.0", 6),
                ("b", "1.0.0", 7)
            ]
        );
        assert_eq!(p[1].dependencies, ["b@2.0.0"]);
        assert_eq!(p[0].purl(), "pkg:npm/%40s/c@3.0.0-rc.1");
    }

    #[test]
    fn package_lock_v1_nested() {
        let text = r#"{"lockfileVersion": 1, "dependencies": {
  "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
  "g": {"version": "github:x/y#abc"}
}}"#;
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("a", "1.0.0"), ("b", "2.0.0")]);
    }

    #[test]
    fn yarn_classic_and_berry() {
        let classic = "# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.10.4\":\n  version \"7.12.13\"\n  dependencies:\n    \"@babel/highlight\" \"^7.12.13\"\n\nlodash@^4.17.0:\n  version \"4.17.20\"\n";
        let p = parse_yarn_lock(Path::new("yarn.lock"), classic).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [
                ("@babel/code-frame", "7.12.13", 3),
                ("lodash", "4.17.20", 8)
            ]
        );

        let berry = "__metadata:\n  version: 8\n  cacheKey: 10\n\n\"@babel/core@npm:^7.0.0\":\n  version: 7.24.0\n  resolution: \"@babel/core@npm:7.24.0\"\n  dependencies:\n    debug: \"npm:^4\"\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n";
        let p = parse_yarn_lock(Path::new("yarn.lock"), berry).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(got, [("@babel/core", "7.24.0", 5)]);
        let e = parse_yarn_lock(
            Path::new("yarn.lock"),
            "a@^1:\n  version \"1\"\nbroken line\n",
        )
        .unwrap_err();
        assert!(matches!(e, Error::Parse { line: 3, .. }), "{e}");
    }

    #[test]
    fn pnpm_v6_and_v9_keys() {
        let v9 = "lockfileVersion: '9.0'\n\npackages:\n\n  '@babel/core@7.24.0':\n    resolution: {integrity: x}\n\n  react-dom@18.2.0:\n    resolution: {integrity: y}\n\nsnapshots:\n\n  react-dom@18.2.0(react@18.2.0):\n    dependencies: {}\n";
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v9).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [("@babel/core", "7.24.0", 5), ("react-dom", "18.2.0", 8)]
        );
        let v5 = "lockfileVersion: 5.4\npackages:\n  /lodash/4.17.21:\n    resolution: {integrity: x}\n  /@types/node/18.0.0:\n    dev: true\n";
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v5).unwrap();
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("lodash", "4.17.21"), ("@types/node", "18.0.0")]);
    }
}
