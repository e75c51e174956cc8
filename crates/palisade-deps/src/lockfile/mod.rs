//! Lockfile parsers: text in, packages (with the line that declares each) out.
//!
//! Parsers are pure functions of the file text; the only exception is `requirements.txt`, whose
//! `-r` includes are read through a loader closure so tests can supply them.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::version::Ecosystem;
use crate::{Error, Result};

mod cargo;
mod npm;
mod others;
mod python;

pub use cargo::parse_cargo_lock;
pub use npm::{parse_package_lock, parse_pnpm_lock, parse_yarn_lock};
pub use others::{
    parse_composer_lock, parse_gemfile_lock, parse_go_mod, parse_go_sum, parse_gradle_lockfile,
    parse_pom_xml,
};
pub use python::{parse_pipfile_lock, parse_poetry_lock, parse_requirements, parse_uv_lock};

/// One resolved package of a lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    #[serde(serialize_with = "ser_eco")]
    pub ecosystem: Ecosystem,
    /// The file that declares it (an included requirements file may differ from the lockfile).
    pub path: PathBuf,
    /// 1-based line of the declaration.
    pub line: usize,
    /// Where it comes from (`registry+…`, `git+…`, a path), when the lockfile says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Direct dependencies as `name@version`, when the lockfile records the graph.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// For OS packages: the distribution release and the source package advisories name.
    /// Boxed: most packages are not OS packages, and this keeps `Package` small.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Box<OsPackage>>,
}

/// What an OS package (dpkg, apk) is matched as: distribution advisories name the *source*
/// package (`openssl`), not the binary (`libssl3`), and apply to one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsPackage {
    /// The release as OSV writes it after the ecosystem (`12` in `Debian:12`, `v3.19` in `Alpine:v3.19`).
    pub release: String,
    pub source_name: String,
    pub source_version: String,
}

fn ser_eco<S: serde::Serializer>(e: &Ecosystem, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(e.osv_name())
}

impl Package {
    /// `name@version`, the key used in dependency lists.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The package URL (purl) of this package.
    pub fn purl(&self) -> String {
        let name = match self.ecosystem {
            Ecosystem::PyPI => crate::version::normalize_pypi_name(&self.name),
            _ => self.name.clone(),
        };
        let name = match (&self.ecosystem, name.split_once('/')) {
            // npm scopes are percent-encoded in purls (`%40scope/name`).
            (Ecosystem::Npm, Some((scope, rest))) if scope.starts_with('@') => {
                format!("%40{}/{}", &scope[1..], rest)
            }
            (Ecosystem::Maven, _) => name.replacen(':', "/", 1),
            _ => name,
        };
        let version = self.version.replace(':', "%3A").replace('+', "%2B");
        match (&self.ecosystem, &self.os) {
            (Ecosystem::Debian, Some(o)) => format!(
                "pkg:deb/debian/{name}@{version}?distro=debian-{}",
                o.release
            ),
            (Ecosystem::Alpine, Some(o)) => {
                format!("pkg:apk/alpine/{name}@{version}?distro={}", o.release)
            }
            _ => format!("pkg:{}/{}@{}", self.ecosystem.purl_type(), name, version),
        }
    }
}

/// A package from its package URL (as [`Package::purl`] writes them, and SBOMs carry them):
/// `pkg:TYPE/[NAMESPACE/]NAME@VERSION[?QUALIFIERS]`. Debian and Alpine packages need the
/// `distro` qualifier (the release their advisories name). `None` for a purl without a
/// version or of a type no index ecosystem has.
pub fn package_of_purl(purl: &str, path: &Path) -> Option<Package> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split('#').next()?;
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let (ty, rest) = rest.split_once('/')?;
    let (path_part, version) = rest.rsplit_once('@')?;
    let decode = |s: &str| percent_decode(s);
    let version = decode(version)?;
    if version.is_empty() {
        return None;
    }
    let (namespace, name) = match path_part.rsplit_once('/') {
        Some((ns, n)) => (Some(decode(ns)?), decode(n)?),
        None => (None, decode(path_part)?),
    };
    let qualifier = |key: &str| {
        qualifiers
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| decode(v))
    };
    let ecosystem = match ty.to_ascii_lowercase().as_str() {
        "cargo" => Ecosystem::CratesIo,
        "pypi" => Ecosystem::PyPI,
        "npm" => Ecosystem::Npm,
        "golang" => Ecosystem::Go,
        "maven" => Ecosystem::Maven,
        "gem" => Ecosystem::RubyGems,
        "composer" => Ecosystem::Packagist,
        "deb" => Ecosystem::Debian,
        "apk" => Ecosystem::Alpine,
        _ => return None,
    };
    let name = match (&ecosystem, namespace) {
        (Ecosystem::Maven, Some(ns)) => format!("{ns}:{name}"),
        (Ecosystem::Npm | Ecosystem::Go | Ecosystem::Packagist, Some(ns)) => format!("{ns}/{name}"),
        // The vendor (`debian`, `alpine`) is not part of the name.
        (_, _) => name,
    };
    let os = match ecosystem {
        Ecosystem::Debian => {
            let distro = qualifier("distro")?;
            let release = distro
                .strip_prefix("debian-")
                .unwrap_or(&distro)
                .to_string();
            Some(Box::new(OsPackage {
                release,
                source_name: qualifier("upstream")
                    .map(|u| u.split('@').next().unwrap_or(&u).to_string())
                    .unwrap_or_else(|| name.clone()),
                source_version: version.clone(),
            }))
        }
        Ecosystem::Alpine => {
            let distro = qualifier("distro")?;
            let release = distro.strip_prefix("alpine-").unwrap_or(&distro);
            let release = if release.starts_with('v') {
                release.to_string()
            } else {
                // `3.19.1` → `v3.19` as Alpine's advisories name releases.
                let mut parts = release.split('.');
                format!("v{}.{}", parts.next()?, parts.next()?)
            };
            Some(Box::new(OsPackage {
                release,
                source_name: name.clone(),
                source_version: version.clone(),
            }))
        }
        _ => None,
    };
    Some(Package {
        name,
        version,
        ecosystem,
        path: path.to_path_buf(),
        line: 0,
        // Registry packages: an SBOM's purl names a published release.
        source: Some("purl".to_string()),
        dependencies: Vec::new(),
        os,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The lockfile formats Palisade reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    CargoLock,
    Requirements,
    PoetryLock,
    PipfileLock,
    UvLock,
    PackageLock,
    YarnLock,
    PnpmLock,
    GoMod,
    GoSum,
    GemfileLock,
    ComposerLock,
    GradleLockfile,
    PomXml,
    /// `var/lib/dpkg/status` in an image.
    DpkgStatus,
    /// `lib/apk/db/installed` in an image.
    ApkInstalled,
    /// Installed Python distributions (`*.dist-info/METADATA`) in an image.
    PythonMetadata,
}

impl Kind {
    /// Recognise a lockfile by its file name.
    pub fn detect(path: &Path) -> Option<Kind> {
        let name = path.file_name()?.to_str()?;
        Some(match name {
            "Cargo.lock" => Kind::CargoLock,
            "poetry.lock" => Kind::PoetryLock,
            "Pipfile.lock" => Kind::PipfileLock,
            "uv.lock" => Kind::UvLock,
            "package-lock.json" | "npm-shrinkwrap.json" => Kind::PackageLock,
            "yarn.lock" => Kind::YarnLock,
            "pnpm-lock.yaml" => Kind::PnpmLock,
            "go.mod" => Kind::GoMod,
            "go.sum" => Kind::GoSum,
            "Gemfile.lock" | "gems.locked" => Kind::GemfileLock,
            "composer.lock" => Kind::ComposerLock,
            "gradle.lockfile" => Kind::GradleLockfile,
            "pom.xml" => Kind::PomXml,
            // requirements.txt, requirements-dev.txt, dev-requirements.txt, requirements/base.txt
            n if n.ends_with(".txt")
                && (n.contains("requirements")
                    || path
                        .parent()
                        .and_then(|p| p.file_name())
                        .is_some_and(|d| d == "requirements")) =>
            {
                Kind::Requirements
            }
            _ => return None,
        })
    }

    pub fn ecosystem(self) -> Ecosystem {
        match self {
            Kind::CargoLock => Ecosystem::CratesIo,
            Kind::Requirements | Kind::PoetryLock | Kind::PipfileLock | Kind::UvLock => {
                Ecosystem::PyPI
            }
            Kind::PackageLock | Kind::YarnLock | Kind::PnpmLock => Ecosystem::Npm,
            Kind::GoMod | Kind::GoSum => Ecosystem::Go,
            Kind::GemfileLock => Ecosystem::RubyGems,
            Kind::ComposerLock => Ecosystem::Packagist,
            Kind::GradleLockfile | Kind::PomXml => Ecosystem::Maven,
            Kind::DpkgStatus => Ecosystem::Debian,
            Kind::ApkInstalled => Ecosystem::Alpine,
            Kind::PythonMetadata => Ecosystem::PyPI,
        }
    }
}

/// A parsed lockfile.
#[derive(Debug, Clone, Serialize)]
pub struct Lockfile {
    pub path: PathBuf,
    pub kind: Kind,
    pub packages: Vec<Package>,
}

/// Read and parse one lockfile of a known kind.
pub fn parse_file(path: &Path, kind: Kind) -> Result<Lockfile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_text(path, kind, &text, &|p: &Path| std::fs::read_to_string(p))
}

/// Read and parse one lockfile for a vulnerability scan: the same packages, lines and errors as
/// [`parse_file`], but parsers may leave `dependencies` empty where building the graph is
/// costly and the scan does not read it (`Cargo.lock`).
pub fn parse_file_for_scan(path: &Path, kind: Kind) -> Result<Lockfile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(
        path,
        kind,
        &text,
        &|p: &Path| std::fs::read_to_string(p),
        false,
    )
}

/// Parse lockfile text of a known kind; `load` reads `requirements.txt` includes.
pub fn parse_text(
    path: &Path,
    kind: Kind,
    text: &str,
    load: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<Lockfile> {
    parse(path, kind, text, load, true)
}

/// `graph`: whether dependency lists must be built (parsers that get them for free fill them
/// either way).
fn parse(
    path: &Path,
    kind: Kind,
    text: &str,
    load: &dyn Fn(&Path) -> std::io::Result<String>,
    graph: bool,
) -> Result<Lockfile> {
    let packages = match kind {
        Kind::CargoLock => cargo::parse(path, text, graph)?,
        Kind::PoetryLock => parse_poetry_lock(path, text)?,
        Kind::PipfileLock => parse_pipfile_lock(path, text)?,
        Kind::UvLock => parse_uv_lock(path, text)?,
        Kind::PackageLock => parse_package_lock(path, text)?,
        Kind::YarnLock => parse_yarn_lock(path, text)?,
        Kind::PnpmLock => parse_pnpm_lock(path, text)?,
        Kind::GoMod => parse_go_mod(path, text)?,
        Kind::GoSum => parse_go_sum(path, text)?,
        Kind::GemfileLock => parse_gemfile_lock(path, text)?,
        Kind::ComposerLock => parse_composer_lock(path, text)?,
        Kind::GradleLockfile => parse_gradle_lockfile(path, text)?,
        Kind::PomXml => parse_pom_xml(path, text)?,
        Kind::Requirements => parse_requirements(path, text, load)?,
        Kind::DpkgStatus | Kind::ApkInstalled | Kind::PythonMetadata => {
            return Err(Error::parse(
                path,
                0,
                "not a lockfile: read by the image scanner",
            ));
        }
    };
    Ok(Lockfile {
        path: path.to_path_buf(),
        kind,
        packages,
    })
}

/// Map a TOML error to a `Parse` error with the line it points at.
pub(crate) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let line = e
        .span()
        .map(|s| crate::error::line_of_offset(text, s.start))
        .unwrap_or(0);
    Error::parse(path, line, e.message().to_string())
}

/// Map a JSON error to a `Parse` error with its line.
pub(crate) fn json_error(path: &Path, e: &serde_json::Error) -> Error {
    Error::parse(path, e.line(), e.to_string())
}

/// 1-based lines of each `[[package]]` header, in file order (TOML lockfiles).
pub(crate) fn package_header_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[package]]")
        .map(|(i, _)| i + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfiles_are_recognised_by_name() {
        let cases = [
            ("x/Cargo.lock", Some(Kind::CargoLock)),
            ("requirements.txt", Some(Kind::Requirements)),
            ("requirements-dev.txt", Some(Kind::Requirements)),
            ("dev-requirements.txt", Some(Kind::Requirements)),
            ("app/requirements/base.txt", Some(Kind::Requirements)),
            ("notes.txt", None),
            ("npm-shrinkwrap.json", Some(Kind::PackageLock)),
            ("package.json", None),
            ("gems.locked", Some(Kind::GemfileLock)),
            ("pom.xml", Some(Kind::PomXml)),
        ];
        for (p, want) in cases {
            assert_eq!(Kind::detect(Path::new(p)), want, "{p}");
        }
    }
}

#[cfg(test)]
mod purl_tests {
    use super::*;

    fn pkg(name: &str, version: &str, ecosystem: Ecosystem, os: Option<(&str, &str)>) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            ecosystem,
            path: PathBuf::from("sbom"),
            line: 0,
            source: Some("purl".into()),
            dependencies: Vec::new(),
            os: os.map(|(release, source)| {
                Box::new(OsPackage {
                    release: release.into(),
                    source_name: source.into(),
                    source_version: version.into(),
                })
            }),
        }
    }

    /// A package written as a purl reads back as the same package, for every ecosystem.
    #[test]
    fn purls_read_back_as_the_packages_that_wrote_them() {
        for p in [
            pkg("serde", "1.0.200", Ecosystem::CratesIo, None),
            pkg("@scope/left-pad", "1.3.0-rc.1", Ecosystem::Npm, None),
            pkg("lodash", "4.17.20", Ecosystem::Npm, None),
            pkg("django", "4.2.1", Ecosystem::PyPI, None),
            pkg("golang.org/x/net", "v0.17.0", Ecosystem::Go, None),
            pkg(
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                Ecosystem::Maven,
                None,
            ),
            pkg("rack", "2.2.3", Ecosystem::RubyGems, None),
            pkg("symfony/http-kernel", "5.4.0", Ecosystem::Packagist, None),
            pkg(
                "openssl",
                "1:3.0.11-1~deb12u2",
                Ecosystem::Debian,
                Some(("12", "openssl")),
            ),
            pkg(
                "busybox",
                "1.36.1-r15",
                Ecosystem::Alpine,
                Some(("v3.19", "busybox")),
            ),
        ] {
            let back = package_of_purl(&p.purl(), Path::new("sbom"));
            assert_eq!(back.as_ref(), Some(&p), "{}", p.purl());
        }
        for bad in [
            "",
            "pkg:npm/lodash",
            "pkg:npm/lodash@",
            "pkg:unknown/x@1",
            "pkg:deb/debian/openssl@3.0",
            "pkg:npm/%zz@1",
            "npm/lodash@1",
        ] {
            assert_eq!(package_of_purl(bad, Path::new("sbom")), None, "{bad}");
        }
    }
}
