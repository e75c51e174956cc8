//! Go (`go.mod`, `go.sum`), Ruby (`Gemfile.lock`), PHP (`composer.lock`), Java
//! (`gradle.lockfile`, `pom.xml`).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::{Package, json_error};
use crate::version::Ecosystem;
use crate::{Error, Result};

fn pkg(path: &Path, line: usize, eco: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem: eco,
        path: path.to_path_buf(),
        line,
        source: None,
        dependencies: Vec::new(),
        os: None,
    }
}

/// Parse a `go.mod`: `require` lines and blocks, with `replace` directives applied.
pub fn parse_go_mod(path: &Path, text: &str) -> Result<Vec<Package>> {
    let mut requires: Vec<(String, String, usize)> = Vec::new();
    let mut replaces: HashMap<String, (String, Option<String>)> = HashMap::new();
    let mut block: Option<String> = None;
    // The Go standard library, as OSV's `stdlib` package: the `toolchain` if named, else the
    // `go` line (the minimum Go version, the best the file says about the build's toolchain).
    let mut stdlib: Option<(String, usize, bool)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (verb, rest) = match &block {
            Some(b) if line == ")" => {
                let _ = b;
                block = None;
                continue;
            }
            Some(b) => (b.clone(), line),
            None => {
                let (v, r) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let r = r.trim();
                if r == "(" {
                    block = Some(v.to_string());
                    continue;
                }
                (v.to_string(), r)
            }
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        match verb.as_str() {
            "require" => match fields.as_slice() {
                [m, v, ..] => requires.push((m.to_string(), v.to_string(), i + 1)),
                _ => {
                    return Err(Error::parse(
                        path,
                        i + 1,
                        format!("malformed require: {rest:?}"),
                    ));
                }
            },
            "replace" => {
                let Some(arrow) = fields.iter().position(|f| *f == "=>") else {
                    return Err(Error::parse(
                        path,
                        i + 1,
                        format!("malformed replace: {rest:?}"),
                    ));
                };
                let old = fields.first().copied().unwrap_or_default();
                let new = fields.get(arrow + 1).copied().unwrap_or_default();
                replaces.insert(
                    old.to_string(),
                    (
                        new.to_string(),
                        fields.get(arrow + 2).map(|s| s.to_string()),
                    ),
                );
            }
            "go" | "toolchain" => {
                let is_toolchain = verb == "toolchain";
                let v = fields.first().copied().unwrap_or_default();
                let v = v.strip_prefix("go").unwrap_or(v);
                if !v.is_empty()
                    && v.as_bytes()[0].is_ascii_digit()
                    && stdlib.as_ref().is_none_or(|s| !s.2)
                {
                    stdlib = Some((v.to_string(), i + 1, is_toolchain));
                }
            }
            "module" | "exclude" | "retract" | "godebug" | "tool" | "ignore" => {}
            other => {
                return Err(Error::parse(
                    path,
                    i + 1,
                    format!("unknown directive {other:?}"),
                ));
            }
        }
    }
    let mut out = Vec::new();
    for (m, v, line) in requires {
        let (name, version) = match replaces.get(&m) {
            // A local-path replacement has no version: nothing to match.
            Some((_, None)) => continue,
            Some((n, Some(nv))) => (n.clone(), nv.clone()),
            None => (m, v),
        };
        out.push(pkg(path, line, Ecosystem::Go, &name, &version));
    }
    if let Some((v, line, _)) = stdlib {
        out.push(pkg(path, line, Ecosystem::Go, "stdlib", &v));
    }
    Ok(out)
}

/// Parse a `go.sum` (used when there is no `go.mod`): the highest version of each module.
pub fn parse_go_sum(path: &Path, text: &str) -> Result<Vec<Package>> {
    let mut best: HashMap<String, (String, usize)> = HashMap::new();
    let mut order = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let [m, v, h] = f.as_slice() else {
            return Err(Error::parse(path, i + 1, "expected `module version hash`"));
        };
        if !h.starts_with("h1:") {
            return Err(Error::parse(path, i + 1, format!("unknown hash {h:?}")));
        }
        let v = v.trim_end_matches("/go.mod");
        match best.get_mut(*m) {
            Some(cur) => {
                if Ecosystem::Go.compare(v, &cur.0) == std::cmp::Ordering::Greater {
                    *cur = (v.to_string(), i + 1);
                }
            }
            None => {
                order.push(m.to_string());
                best.insert(m.to_string(), (v.to_string(), i + 1));
            }
        }
    }
    Ok(order
        .into_iter()
        .map(|m| {
            let (v, line) = &best[&m];
            pkg(path, *line, Ecosystem::Go, &m, v)
        })
        .collect())
}

/// Parse a `Gemfile.lock` (`GEM` and `GIT` specs; `PATH` gems are local and skipped).
pub fn parse_gemfile_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    let mut out: Vec<Package> = Vec::new();
    let mut deps: Vec<Vec<String>> = Vec::new();
    let mut section = "";
    let mut in_specs = false;
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = line.trim();
            in_specs = false;
            continue;
        }
        if line.trim() == "specs:" {
            in_specs = true;
            continue;
        }
        if !in_specs || !(section == "GEM" || section == "GIT") {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        let (name, ver) = match t.split_once(" (") {
            Some((n, v)) => (n, v.strip_suffix(')')),
            None => (t, None),
        };
        match indent {
            4 => {
                let Some(v) = ver else {
                    return Err(Error::parse(
                        path,
                        i + 1,
                        format!("spec without version: {t:?}"),
                    ));
                };
                // `1.13.10-x86_64-linux`: RubyGems versions have no `-`, the rest is the platform.
                let v = v.split('-').next().unwrap_or(v);
                out.push(pkg(path, i + 1, Ecosystem::RubyGems, name, v));
                deps.push(Vec::new());
            }
            6 => {
                if let Some(d) = deps.last_mut() {
                    d.push(name.to_string());
                }
            }
            _ => {}
        }
    }
    let versions: HashMap<String, String> = out
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    for (p, d) in out.iter_mut().zip(deps) {
        p.dependencies = d
            .iter()
            .filter_map(|n| versions.get(n).map(|v| format!("{n}@{v}")))
            .collect();
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ComposerLock {
    #[serde(default)]
    packages: Vec<ComposerPackage>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Vec<ComposerPackage>,
}

#[derive(Deserialize)]
struct ComposerPackage {
    name: String,
    version: String,
    #[serde(default)]
    require: HashMap<String, String>,
}

/// Parse a `composer.lock` (`packages` and `packages-dev`; `dev-` branches have no release
/// version and are skipped).
pub fn parse_composer_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    let lock: ComposerLock = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let mut lines: HashMap<&str, usize> = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        if let Some(rest) = l.trim_start().strip_prefix("\"name\": \"") {
            lines
                .entry(rest.trim_end_matches([',', '"']))
                .or_insert(i + 1);
        }
    }
    let all: Vec<&ComposerPackage> = lock
        .packages
        .iter()
        .chain(lock.packages_dev.iter())
        .collect();
    let versions: HashMap<&str, String> = all
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.version.trim_start_matches('v').to_string(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for p in all {
        if p.version.starts_with("dev-") {
            continue;
        }
        let mut pk = pkg(
            path,
            lines.get(p.name.as_str()).copied().unwrap_or(0),
            Ecosystem::Packagist,
            &p.name,
            p.version.trim_start_matches('v'),
        );
        let mut deps: Vec<String> = p
            .require
            .keys()
            .filter_map(|d| versions.get(d.as_str()).map(|v| format!("{d}@{v}")))
            .collect();
        deps.sort();
        pk.dependencies = deps;
        out.push(pk);
    }
    Ok(out)
}

/// Parse a `gradle.lockfile` (`group:artifact:version=configurations`).
pub fn parse_gradle_lockfile(path: &Path, text: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("empty=") {
            continue;
        }
        let coord = line.split('=').next().unwrap_or(line);
        let parts: Vec<&str> = coord.split(':').collect();
        let [g, a, v] = parts.as_slice() else {
            return Err(Error::parse(
                path,
                i + 1,
                format!("expected group:artifact:version, got {coord:?}"),
            ));
        };
        out.push(pkg(path, i + 1, Ecosystem::Maven, &format!("{g}:{a}"), v));
    }
    Ok(out)
}

/// Parse a `pom.xml`: declared dependencies (and dependencyManagement) with `${property}`
/// substitution from `<properties>` and `project.version`. Parent POMs are not fetched, so a
/// version inherited from a parent or BOM stays unknown and the dependency is skipped.
pub fn parse_pom_xml(path: &Path, text: &str) -> Result<Vec<Package>> {
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| Error::parse(path, e.pos().row as usize, e.to_string()))?;
    let root = doc.root_element();
    let child = |n: roxmltree::Node<'_, '_>, name: &str| -> Option<String> {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let mut props: HashMap<String, String> = HashMap::new();
    if let Some(p) = root
        .children()
        .find(|c| c.tag_name().name() == "properties")
    {
        for c in p.children().filter(|c| c.is_element()) {
            props.insert(
                c.tag_name().name().to_string(),
                c.text().unwrap_or("").trim().to_string(),
            );
        }
    }
    let project_version = child(root, "version").or_else(|| {
        root.children()
            .find(|c| c.tag_name().name() == "parent")
            .and_then(|p| child(p, "version"))
    });
    if let Some(v) = &project_version {
        props.insert("project.version".into(), v.clone());
        props.insert("pom.version".into(), v.clone());
    }
    let resolve = |s: &str| -> Option<String> {
        let mut out = s.to_string();
        for _ in 0..10 {
            let Some(start) = out.find("${") else {
                return Some(out);
            };
            let end = out[start..].find('}')? + start;
            let value = props.get(&out[start + 2..end])?;
            out.replace_range(start..=end, value);
        }
        None
    };
    let mut out = Vec::new();
    for dep in root
        .descendants()
        .filter(|n| n.tag_name().name() == "dependency")
    {
        let in_plugin = dep.ancestors().any(|a| a.tag_name().name() == "plugin");
        if in_plugin {
            continue;
        }
        let (Some(g), Some(a)) = (child(dep, "groupId"), child(dep, "artifactId")) else {
            continue;
        };
        let Some(v) = child(dep, "version").and_then(|v| resolve(&v)) else {
            continue;
        };
        let (Some(g), Some(a)) = (resolve(&g), resolve(&a)) else {
            continue;
        };
        // Version ranges ([1.0,2.0)) name no single version.
        if v.starts_with('[') || v.starts_with('(') {
            continue;
        }
        let line = doc.text_pos_at(dep.range().start).row as usize;
        out.push(pkg(path, line, Ecosystem::Maven, &format!("{g}:{a}"), &v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nv(p: &[Package]) -> Vec<(&str, &str, usize)> {
        p.iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect()
    }

    #[test]
    fn go_mod_requires_and_replaces() {
        let text = "module x\n\ngo 1.22\n\nrequire (\n\tgithub.com/a/b v1.2.3 // indirect\n\tgolang.org/x/net v0.0.0-20191109021931-daa7c04131f5\n)\n\nrequire github.com/c/d v2.0.0+incompatible\n\nreplace github.com/a/b => github.com/fork/b v1.2.4\nreplace github.com/c/d => ../local\n";
        let p = parse_go_mod(Path::new("go.mod"), text).unwrap();
        assert_eq!(
            nv(&p),
            [
                ("github.com/fork/b", "v1.2.4", 6),
                ("golang.org/x/net", "v0.0.0-20191109021931-daa7c04131f5", 7),
                ("stdlib", "1.22", 3)
            ]
        );
        // A toolchain line names the Go actually used, and wins over the minimum.
        let p = parse_go_mod(
            Path::new("go.mod"),
            "module x\n\ntoolchain go1.22.4\ngo 1.21\n",
        )
        .unwrap();
        assert_eq!(nv(&p), [("stdlib", "1.22.4", 3)]);
        let e = parse_go_mod(Path::new("go.mod"), "module x\nrequire (\n a\n)\n").unwrap_err();
        assert!(matches!(e, Error::Parse { line: 3, .. }), "{e}");
    }

    #[test]
    fn go_sum_takes_the_highest_version() {
        let text = "github.com/a/b v1.0.0 h1:x=\ngithub.com/a/b v1.0.0/go.mod h1:y=\ngithub.com/a/b v1.10.0/go.mod h1:z=\n";
        assert_eq!(
            nv(&parse_go_sum(Path::new("go.sum"), text).unwrap()),
            [("github.com/a/b", "v1.10.0", 3)]
        );
    }

    #[test]
    fn gemfile_lock_specs_platforms_and_graph() {
        let text = "GEM\n  remote: https://rubygems.org/\n  specs:\n    actionpack (7.0.4)\n      rack (~> 2.0)\n    nokogiri (1.13.10-x86_64-linux)\n    rack (2.2.4)\n\nPATH\n  remote: .\n  specs:\n    mygem (0.1.0)\n\nPLATFORMS\n  ruby\n";
        let p = parse_gemfile_lock(Path::new("Gemfile.lock"), text).unwrap();
        assert_eq!(
            nv(&p),
            [
                ("actionpack", "7.0.4", 4),
                ("nokogiri", "1.13.10", 6),
                ("rack", "2.2.4", 7)
            ]
        );
        assert_eq!(p[0].dependencies, ["rack@2.2.4"]);
    }

    #[test]
    fn composer_and_gradle() {
        let text = "{\n    \"packages\": [\n        {\n            \"name\": \"guzzlehttp/guzzle\",\n            \"version\": \"7.4.5\",\n            \"require\": {\"guzzlehttp/psr7\": \"^1.9\"}\n        },\n        {\n            \"name\": \"guzzlehttp/psr7\",\n            \"version\": \"v1.9.0\"\n        }\n    ],\n    \"packages-dev\": [\n        {\"name\": \"x/y\", \"version\": \"dev-main\"}\n    ]\n}\n";
        let p = parse_composer_lock(Path::new("composer.lock"), text).unwrap();
        assert_eq!(
            nv(&p),
            [
                ("guzzlehttp/guzzle", "7.4.5", 4),
                ("guzzlehttp/psr7", "1.9.0", 9)
            ]
        );
        assert_eq!(p[0].dependencies, ["guzzlehttp/psr7@1.9.0"]);
        let g = "# comment\norg.springframework:spring-core:5.3.20=compileClasspath\nempty=annotationProcessor\n";
        let p = parse_gradle_lockfile(Path::new("gradle.lockfile"), g).unwrap();
        assert_eq!(nv(&p), [("org.springframework:spring-core", "5.3.20", 2)]);
        assert_eq!(
            p[0].purl(),
            "pkg:maven/org.springframework/spring-core@5.3.20"
        );
        assert!(matches!(
            parse_gradle_lockfile(Path::new("gradle.lockfile"), "a:b\n").unwrap_err(),
            Error::Parse { line: 1, .. }
        ));
    }

    #[test]
    fn pom_properties_are_substituted() {
        let text = r#"<project>
  <version>2.0.0</version>
  <properties><jackson.version>2.13.0</jackson.version></properties>
  <dependencies>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.version}</version>
    </dependency>
    <dependency><groupId>x</groupId><artifactId>self</artifactId><version>${project.version}</version></dependency>
    <dependency><groupId>x</groupId><artifactId>managed</artifactId></dependency>
    <dependency><groupId>x</groupId><artifactId>unknown</artifactId><version>${nope}</version></dependency>
  </dependencies>
</project>"#;
        let p = parse_pom_xml(Path::new("pom.xml"), text).unwrap();
        assert_eq!(
            nv(&p),
            [
                ("com.fasterxml.jackson.core:jackson-databind", "2.13.0", 5),
                ("x:self", "2.0.0", 10)
            ]
        );
        assert!(matches!(
            parse_pom_xml(Path::new("pom.xml"), "<project>\n<a>\n</project>").unwrap_err(),
            Error::Parse { line: 3, .. }
        ));
    }
}
