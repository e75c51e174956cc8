//! Python: `requirements.txt` (pinned, hashes, `-r` includes), `poetry.lock`, `Pipfile.lock`
//! and `uv.lock`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Package, json_error, package_header_lines, toml_error};
use crate::version::{Ecosystem, normalize_pypi_name};
use crate::{Error, Result};

fn pkg(path: &Path, line: usize, name: &str, version: &str) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem: Ecosystem::PyPI,
        path: path.to_path_buf(),
        line,
        source: None,
        dependencies: Vec::new(),
        os: None,
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

/// Parse a requirements file. Only exact pins (`==`, `===`) name a version, so only they become
/// packages; ranges, URLs and editable installs are skipped. `-r`/`--requirement` files are
/// read through `load`, relative to the including file; include cycles are cut.
pub fn parse_requirements(
    path: &Path,
    text: &str,
    load: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut seen = vec![path.to_path_buf()];
    requirements_into(path, text, load, &mut seen, &mut out)?;
    Ok(out)
}

fn requirements_into(
    path: &Path,
    text: &str,
    load: &dyn Fn(&Path) -> std::io::Result<String>,
    seen: &mut Vec<PathBuf>,
    out: &mut Vec<Package>,
) -> Result<()> {
    let mut logical = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if logical.is_empty() {
            start = i + 1;
        }
        if let Some(cont) = raw.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        requirement_line(path, start, &line, load, seen, out)?;
    }
    if !logical.is_empty() {
        requirement_line(path, start, &logical, load, seen, out)?;
    }
    Ok(())
}

fn requirement_line(
    path: &Path,
    line_no: usize,
    line: &str,
    load: &dyn Fn(&Path) -> std::io::Result<String>,
    seen: &mut Vec<PathBuf>,
    out: &mut Vec<Package>,
) -> Result<()> {
    // A comment starts at `#` at the beginning or after whitespace.
    let mut content = line;
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            content = &line[..i];
            break;
        }
    }
    let content = content.trim();
    if content.is_empty() {
        return Ok(());
    }
    if content.starts_with('-') {
        let include = content
            .strip_prefix("--requirement")
            .or_else(|| content.strip_prefix("-r"))
            .map(|r| r.trim_start_matches('=').trim());
        if let Some(target) = include.filter(|t| !t.is_empty()) {
            let dir = path.parent().unwrap_or(Path::new(""));
            let inc = dir.join(target);
            if seen.contains(&inc) {
                return Ok(());
            }
            let text = load(&inc).map_err(|e| {
                Error::parse(
                    path,
                    line_no,
                    format!("cannot read included {}: {e}", inc.display()),
                )
            })?;
            seen.push(inc.clone());
            requirements_into(&inc, &text, load, seen, out)?;
        }
        // Other options (--hash on its own line, -i, --index-url, -c, -e …) name no pin.
        return Ok(());
    }
    // Drop environment markers and per-requirement options such as --hash.
    let spec = content.split(';').next().unwrap_or("").trim();
    let spec = spec.split(" --").next().unwrap_or("").trim();
    if spec.contains("://")
        || spec.contains(" @ ")
        || spec.starts_with('.')
        || spec.starts_with('/')
    {
        return Ok(());
    }
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..name_end];
    if !valid_name(name) {
        return Err(Error::parse(
            path,
            line_no,
            format!("not a requirement: {content:?}"),
        ));
    }
    let mut rest = spec[name_end..].trim_start();
    if rest.starts_with('[') {
        match rest.find(']') {
            Some(end) => rest = rest[end + 1..].trim_start(),
            None => {
                return Err(Error::parse(
                    path,
                    line_no,
                    format!("unclosed extras in {content:?}"),
                ));
            }
        }
    }
    let Some(pinned) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) else {
        return Ok(()); // not an exact pin
    };
    let version = pinned.trim().split([',', ' ']).next().unwrap_or("").trim();
    if version.is_empty() || version.contains('*') {
        return Ok(());
    }
    out.push(pkg(path, line_no, name, version));
    Ok(())
}

#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<TomlPackage>,
}

#[derive(Deserialize)]
struct TomlPackage {
    name: String,
    version: Option<String>,
    source: Option<toml::Value>,
    #[serde(default)]
    dependencies: Option<toml::Value>,
}

/// Parse a `poetry.lock`.
pub fn parse_poetry_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    let lock: TomlLock = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let lines = package_header_lines(text);
    let versions: HashMap<String, String> = lock
        .package
        .iter()
        .filter_map(|p| Some((normalize_pypi_name(&p.name), p.version.clone()?)))
        .collect();
    let mut out = Vec::new();
    for (i, p) in lock.package.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(0);
        let Some(version) = &p.version else {
            return Err(Error::parse(
                path,
                line,
                format!("package {} has no version", p.name),
            ));
        };
        let mut pk = pkg(path, line, &p.name, version);
        // poetry: [package.dependencies] name = "constraint" | { version = … }
        if let Some(toml::Value::Table(t)) = &p.dependencies {
            pk.dependencies = t
                .keys()
                .filter_map(|d| {
                    let n = normalize_pypi_name(d);
                    versions.get(&n).map(|v| format!("{n}@{v}"))
                })
                .collect();
        }
        out.push(pk);
    }
    Ok(out)
}

/// Parse a `uv.lock`. The project itself (`editable`/`virtual` source) is not a dependency and
/// is left out.
pub fn parse_uv_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    let lock: TomlLock = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let lines = package_header_lines(text);
    let versions: HashMap<String, String> = lock
        .package
        .iter()
        .filter_map(|p| Some((normalize_pypi_name(&p.name), p.version.clone()?)))
        .collect();
    let mut out = Vec::new();
    for (i, p) in lock.package.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(0);
        let local = match &p.source {
            Some(toml::Value::Table(t)) => t.contains_key("editable") || t.contains_key("virtual"),
            _ => false,
        };
        if local {
            continue;
        }
        let Some(version) = &p.version else {
            return Err(Error::parse(
                path,
                line,
                format!("package {} has no version", p.name),
            ));
        };
        let mut pk = pkg(path, line, &p.name, version);
        if let Some(toml::Value::Table(t)) = &p.source {
            pk.source = t
                .iter()
                .next()
                .and_then(|(k, v)| v.as_str().map(|s| format!("{k}+{s}")));
        }
        // uv: dependencies = [{ name = "x" }, …]
        if let Some(toml::Value::Array(deps)) = &p.dependencies {
            pk.dependencies = deps
                .iter()
                .filter_map(|d| d.get("name")?.as_str())
                .filter_map(|d| {
                    let n = normalize_pypi_name(d);
                    versions.get(&n).map(|v| format!("{n}@{v}"))
                })
                .collect();
        }
        out.push(pk);
    }
    Ok(out)
}

#[derive(Deserialize)]
struct PipfileLock {
    #[serde(default)]
    default: BTreeMap<String, PipfileEntry>,
    #[serde(default)]
    develop: BTreeMap<String, PipfileEntry>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    version: Option<String>,
}

/// Parse a `Pipfile.lock` (`default` and `develop` sections; VCS/path entries have no version
/// and are skipped).
pub fn parse_pipfile_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    let lock: PipfileLock = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let mut out = Vec::new();
    for section in ["default", "develop"] {
        let entries = if section == "default" {
            &lock.default
        } else {
            &lock.develop
        };
        let section_at = text.find(&format!("\"{section}\"")).unwrap_or(0);
        for (name, e) in entries {
            let Some(v) = &e.version else { continue };
            let version = v.trim_start_matches("==").trim_start_matches('=');
            let at = text[section_at..]
                .find(&format!("\"{name}\""))
                .map(|o| o + section_at)
                .unwrap_or(0);
            out.push(pkg(
                path,
                crate::error::line_of_offset(text, at),
                name,
                version,
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_from(
        files: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&Path) -> std::io::Result<String> {
        move |p: &Path| {
            files
                .iter()
                .find(|(n, _)| Path::new(n) == p)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "missing"))
        }
    }

    #[test]
    fn requirements_pins_hashes_markers_and_includes() {
        let text = "# comment\n-r base.txt\n--index-url https://example.invalid/simple\n\
                    Django[argon2]==4.2.1 ; python_version >= \"3.8\" \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\n\
                    requests>=2.0\nflask == 2.0.1  # pinned\n-e git+https://x.invalid/y.git#egg=y\n\
                    pkg @ https://x.invalid/p.whl\n";
        static FILES: &[(&str, &str)] = &[("req/base.txt", "six==1.16.0\n-r requirements.txt\n")];
        let load = load_from(FILES);
        let p = parse_requirements(Path::new("req/requirements.txt"), text, &load).unwrap();
        let got: Vec<(&str, &str, &str, usize)> = p
            .iter()
            .map(|p| {
                (
                    p.path.to_str().unwrap(),
                    p.name.as_str(),
                    p.version.as_str(),
                    p.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("req/base.txt", "six", "1.16.0", 1),
                ("req/requirements.txt", "Django", "4.2.1", 4),
                ("req/requirements.txt", "flask", "2.0.1", 8),
            ]
        );
    }

    #[test]
    fn requirements_errors_name_file_and_line() {
        let load = load_from(&[]);
        let e =
            parse_requirements(Path::new("r.txt"), "a==1\n-r missing.txt\n", &load).unwrap_err();
        assert!(matches!(&e, Error::Parse { line: 2, .. }), "{e}");
        let e = parse_requirements(Path::new("r.txt"), "a==1\n\n%%%==2\n", &load).unwrap_err();
        assert!(matches!(&e, Error::Parse { line: 3, .. }), "{e}");
    }

    #[test]
    fn poetry_uv_and_pipfile() {
        let poetry = "[[package]]\nname = \"Jinja2\"\nversion = \"3.1.2\"\n\n[package.dependencies]\nMarkupSafe = \">=2.0\"\n\n[[package]]\nname = \"markupsafe\"\nversion = \"2.1.1\"\n";
        let p = parse_poetry_lock(Path::new("poetry.lock"), poetry).unwrap();
        assert_eq!((p[1].name.as_str(), p[1].line), ("markupsafe", 8));
        assert_eq!(p[0].dependencies, ["markupsafe@2.1.1"]);

        let uv = "version = 1\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\ndependencies = [{ name = \"idna\" }]\n\n[[package]]\nname = \"idna\"\nversion = \"3.4\"\nsource = { registry = \"https://pypi.org/simple\" }\n";
        let p = parse_uv_lock(Path::new("uv.lock"), uv).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].name.as_str(), p[0].version.as_str(), p[0].line),
            ("idna", "3.4", 9)
        );

        let pipfile = "{\n \"_meta\": {},\n \"default\": {\n  \"idna\": {\"version\": \"==3.4\"},\n  \"vcs\": {\"git\": \"x\"}\n },\n \"develop\": {\n  \"pytest\": {\"version\": \"==7.0.0\"}\n }\n}\n";
        let p = parse_pipfile_lock(Path::new("Pipfile.lock"), pipfile).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(got, [("idna", "3.4", 4), ("pytest", "7.0.0", 8)]);
        let e = parse_pipfile_lock(
            Path::new("Pipfile.lock"),
            "{\n \"default\": {\n  \"x\": 3,\n",
        )
        .unwrap_err();
        assert!(matches!(&e, Error::Parse { line: 3, .. }), "{e}");
    }
}
