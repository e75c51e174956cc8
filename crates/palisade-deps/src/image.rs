//! Container images: `docker save` tarballs and OCI image layouts (tar or directory).
//!
//! Layers are applied in order with OCI whiteouts (`.wh.NAME` deletes `NAME`, `.wh..wh..opq`
//! empties its directory of lower-layer content). Only the files the scanner reads are kept:
//! `etc/os-release`, the dpkg status database, the apk installed database, lockfiles, and Python
//! distribution metadata. OS packages are matched by their *source* package for the image's
//! release (`Debian:12`, `Alpine:v3.19`), as distribution advisories are written.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::lockfile::{self, Kind, Lockfile, OsPackage, Package};
use crate::version::Ecosystem;
use crate::{Error, Result};

/// The files of interest in the image's final filesystem (path without leading `/` -> content).
#[derive(Debug, Default)]
pub struct Filesystem {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Symbolic links among the files of interest (path -> target as written), e.g.
    /// `etc/os-release -> ../usr/lib/os-release` in Debian images.
    pub links: BTreeMap<String, String>,
}

/// Text files up to this size are kept too, so `requirements.txt` `-r` includes resolve.
const MAX_INCLUDE: u64 = 256 * 1024;

fn interesting(path: &str, size: u64) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        path,
        "etc/os-release" | "usr/lib/os-release" | "var/lib/dpkg/status" | "lib/apk/db/installed"
    ) || path.starts_with("var/lib/dpkg/status.d/")
        || (name == "METADATA" && path.contains(".dist-info/"))
        || (name == "PKG-INFO" && path.contains(".egg-info/"))
        || Kind::detect(Path::new(name)).is_some()
        || (name.ends_with(".txt") && size <= MAX_INCLUDE)
}

fn normalize(p: &str) -> String {
    p.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

impl Filesystem {
    /// The content at `path`, following symbolic links (absolute or relative, a few hops).
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        let mut p = path.to_string();
        for _ in 0..8 {
            if let Some(b) = self.files.get(&p) {
                return Some(b);
            }
            let target = self.links.get(&p)?;
            p = if target.starts_with('/') {
                normalize(target)
            } else {
                let mut parts: Vec<&str> = p.split('/').collect();
                parts.pop();
                for seg in target.split('/') {
                    match seg {
                        ".." => {
                            parts.pop();
                        }
                        "." | "" => {}
                        s => parts.push(s),
                    }
                }
                parts.join("/")
            };
        }
        None
    }

    /// Apply one layer (a tar stream, gzip-compressed or not) on top of the current state.
    pub fn apply_layer(&mut self, origin: &Path, bytes: &[u8]) -> Result<()> {
        let arch = |m: String| Error::Archive {
            path: origin.to_path_buf(),
            message: m,
        };
        if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Err(arch(
                "zstd-compressed layers are not supported (gzip and plain tar are)".into(),
            ));
        }
        let data: Vec<u8> = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .map_err(|e| arch(format!("layer: {e}")))?;
            out
        } else {
            bytes.to_vec()
        };
        let mut added: Vec<(String, Vec<u8>)> = Vec::new();
        let mut tar = tar::Archive::new(data.as_slice());
        for entry in tar.entries().map_err(|e| arch(e.to_string()))? {
            let mut entry = entry.map_err(|e| arch(e.to_string()))?;
            let path = normalize(
                &entry
                    .path()
                    .map_err(|e| arch(e.to_string()))?
                    .to_string_lossy(),
            );
            let (dir, name) = match path.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), n.to_string()),
                None => (String::new(), path.clone()),
            };
            if name == ".wh..wh..opq" {
                // Opaque directory: lower layers' content under it disappears.
                let prefix = format!("{dir}/");
                self.files.retain(|k, _| !k.starts_with(&prefix));
                self.links.retain(|k, _| !k.starts_with(&prefix));
                continue;
            }
            if let Some(target) = name.strip_prefix(".wh.") {
                let gone = if dir.is_empty() {
                    target.to_string()
                } else {
                    format!("{dir}/{target}")
                };
                let prefix = format!("{gone}/");
                self.files
                    .retain(|k, _| k != &gone && !k.starts_with(&prefix));
                continue;
            }
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            // A file replacing a directory (or anything at this path) hides what was below.
            let prefix = format!("{path}/");
            self.files.retain(|k, _| !k.starts_with(&prefix));
            self.links.retain(|k, _| !k.starts_with(&prefix));
            self.links.remove(&path);
            if kind.is_symlink() && interesting(&path, 0) {
                if let Ok(Some(target)) = entry.link_name() {
                    self.files.remove(&path);
                    self.links
                        .insert(path, target.to_string_lossy().into_owned());
                }
            } else if kind.is_file() && interesting(&path, entry.size()) {
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| arch(e.to_string()))?;
                added.push((path, buf));
            } else {
                self.files.remove(&path);
            }
        }
        for (p, b) in added {
            self.files.insert(p, b);
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct DockerManifest {
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct OciIndex {
    manifests: Vec<OciDescriptor>,
}

#[derive(Deserialize)]
struct OciDescriptor {
    digest: String,
}

#[derive(Deserialize)]
struct OciManifest {
    #[serde(default)]
    layers: Vec<OciDescriptor>,
    #[serde(default)]
    manifests: Vec<OciDescriptor>,
}

/// Read the image at `path` (a tar file or an OCI layout directory) and return its final
/// filesystem (the files of interest).
pub fn read_image(path: &Path) -> Result<Filesystem> {
    let arch = |m: String| Error::Archive {
        path: path.to_path_buf(),
        message: m,
    };
    // The outer container: name -> bytes.
    let mut blobs: HashMap<String, Vec<u8>> = HashMap::new();
    if path.is_dir() {
        fn walk(root: &Path, dir: &Path, out: &mut HashMap<String, Vec<u8>>) -> Result<()> {
            for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
                let p = e.map_err(|e| Error::io(dir, e))?.path();
                if p.is_dir() {
                    walk(root, &p, out)?;
                } else {
                    let rel = p
                        .strip_prefix(root)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.insert(rel, std::fs::read(&p).map_err(|e| Error::io(&p, e))?);
                }
            }
            Ok(())
        }
        walk(path, path, &mut blobs)?;
    } else {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut tar = tar::Archive::new(std::io::BufReader::new(file));
        for entry in tar.entries().map_err(|e| arch(e.to_string()))? {
            let mut entry = entry.map_err(|e| arch(e.to_string()))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = normalize(
                &entry
                    .path()
                    .map_err(|e| arch(e.to_string()))?
                    .to_string_lossy(),
            );
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| arch(e.to_string()))?;
            blobs.insert(name, buf);
        }
    }
    let blob = |digest: &str| -> Result<&Vec<u8>> {
        let key = format!("blobs/{}", digest.replacen(':', "/", 1));
        blobs
            .get(&key)
            .ok_or_else(|| arch(format!("missing blob {digest}")))
    };
    let layers: Vec<&Vec<u8>> = if let Some(m) = blobs.get("manifest.json") {
        let manifests: Vec<DockerManifest> =
            serde_json::from_slice(m).map_err(|e| arch(format!("manifest.json: {e}")))?;
        let first = manifests
            .first()
            .ok_or_else(|| arch("manifest.json lists no image".into()))?;
        first
            .layers
            .iter()
            .map(|l| {
                blobs
                    .get(&normalize(l))
                    .ok_or_else(|| arch(format!("missing layer {l}")))
            })
            .collect::<Result<_>>()?
    } else if let Some(i) = blobs.get("index.json") {
        let index: OciIndex =
            serde_json::from_slice(i).map_err(|e| arch(format!("index.json: {e}")))?;
        let mut digest = index
            .manifests
            .first()
            .ok_or_else(|| arch("index.json lists no manifest".into()))?
            .digest
            .clone();
        // Follow nested indexes (multi-platform images) to the first image manifest.
        let mut depth = 0;
        let manifest = loop {
            let m: OciManifest = serde_json::from_slice(blob(&digest)?)
                .map_err(|e| arch(format!("manifest {digest}: {e}")))?;
            match m.manifests.first() {
                Some(next) if m.layers.is_empty() && depth < 4 => {
                    digest = next.digest.clone();
                    depth += 1;
                }
                _ => break m,
            }
        };
        let digests: Vec<String> = manifest.layers.iter().map(|l| l.digest.clone()).collect();
        digests.iter().map(|d| blob(d)).collect::<Result<_>>()?
    } else {
        return Err(arch(
            "neither manifest.json (docker save) nor index.json (OCI layout)".into(),
        ));
    };
    let mut fs = Filesystem::default();
    for l in layers {
        fs.apply_layer(path, l)?;
    }
    Ok(fs)
}

/// `ID` and `VERSION_ID` of an os-release file.
fn os_release(text: &str) -> (String, String) {
    let mut id = String::new();
    let mut version = String::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().trim_matches('"').to_string();
            match k.trim() {
                "ID" => id = v,
                "VERSION_ID" => version = v,
                _ => {}
            }
        }
    }
    (id, version)
}

fn paragraphs(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push((start, std::mem::take(&mut cur)));
            }
            start = i + 2;
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out.into_iter()
}

/// Parse a dpkg status database: installed packages, matched by source package and version.
pub fn parse_dpkg_status(path: &Path, text: &str, release: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for (line, para) in paragraphs(text) {
        let field = |name: &str| {
            para.iter().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        let (Some(name), Some(version)) = (field("Package"), field("Version")) else {
            continue;
        };
        // Distroless images keep one file per package in status.d/ without a Status field.
        if !field("Status").is_none_or(|s| s.ends_with(" installed")) {
            continue;
        }
        // `Source: name` or `Source: name (version)`; absent means same as the binary.
        let (src_name, src_version) = match field("Source") {
            Some(s) => match s.split_once(" (") {
                Some((n, v)) => (n.trim(), v.trim_end_matches(')')),
                None => (s, version),
            },
            None => (name, version),
        };
        out.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            ecosystem: Ecosystem::Debian,
            path: path.to_path_buf(),
            line,
            source: None,
            dependencies: Vec::new(),
            os: Some(OsPackage {
                release: release.to_string(),
                source_name: src_name.to_string(),
                source_version: src_version.to_string(),
            }),
        });
    }
    out
}

/// Parse an apk installed database (`P:` name, `V:` version, `o:` origin package).
pub fn parse_apk_installed(path: &Path, text: &str, release: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for (line, para) in paragraphs(text) {
        let field = |k: &str| para.iter().find_map(|l| l.strip_prefix(k)).map(str::trim);
        let (Some(name), Some(version)) = (field("P:"), field("V:")) else {
            continue;
        };
        out.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            ecosystem: Ecosystem::Alpine,
            path: path.to_path_buf(),
            line,
            source: None,
            dependencies: Vec::new(),
            os: Some(OsPackage {
                release: release.to_string(),
                source_name: field("o:").unwrap_or(name).to_string(),
                source_version: version.to_string(),
            }),
        });
    }
    out
}

/// Everything scannable in an image, as lockfiles (OS databases and Python metadata included),
/// plus errors for files that could not be parsed (the rest is still returned).
pub fn image_lockfiles(image: &Path, fs: &Filesystem) -> (Vec<Lockfile>, Vec<Error>) {
    let inner = |p: &str| PathBuf::from(format!("{}!/{p}", image.display()));
    let text = |p: &str| {
        fs.files
            .get(p)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let (id, version) = text("etc/os-release")
        .or_else(|| text("usr/lib/os-release"))
        .map(|t| os_release(&t))
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut dpkg: Vec<String> = fs
        .files
        .keys()
        .filter(|k| *k == "var/lib/dpkg/status" || k.starts_with("var/lib/dpkg/status.d/"))
        .cloned()
        .collect();
    dpkg.sort();
    for p in dpkg {
        let release = if id == "debian" {
            version.clone()
        } else {
            String::new()
        };
        out.push(Lockfile {
            path: inner(&p),
            kind: Kind::DpkgStatus,
            packages: parse_dpkg_status(&inner(&p), &text(&p).unwrap_or_default(), &release),
        });
    }
    if let Some(t) = text("lib/apk/db/installed") {
        // OSV names Alpine releases `v3.19` (major.minor of VERSION_ID).
        let mm: Vec<&str> = version.split('.').take(2).collect();
        let release = format!("v{}", mm.join("."));
        let p = inner("lib/apk/db/installed");
        out.push(Lockfile {
            path: p.clone(),
            kind: Kind::ApkInstalled,
            packages: parse_apk_installed(&p, &t, &release),
        });
    }
    let mut python = Vec::new();
    for (p, bytes) in &fs.files {
        let name = p.rsplit('/').next().unwrap_or(p);
        if name == "METADATA" || name == "PKG-INFO" {
            let t = String::from_utf8_lossy(bytes);
            let header = |k: &str| {
                t.lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix(k))
                    .map(str::trim)
            };
            if let (Some(n), Some(v)) = (header("Name:"), header("Version:")) {
                python.push(Package {
                    name: n.to_string(),
                    version: v.to_string(),
                    ecosystem: Ecosystem::PyPI,
                    path: inner(p),
                    line: 1,
                    source: None,
                    dependencies: Vec::new(),
                    os: None,
                });
            }
        } else if let Some(kind) = Kind::detect(Path::new(name)) {
            let load = |q: &Path| {
                let key = normalize(
                    &q.to_string_lossy()
                        .replace(&format!("{}!/", image.display()), ""),
                );
                fs.files
                    .get(&key)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, key))
            };
            match lockfile::parse_text(&inner(p), kind, &String::from_utf8_lossy(bytes), &load) {
                Ok(l) => out.push(l),
                Err(e) => errors.push(e),
            }
        }
    }
    if !python.is_empty() {
        out.push(Lockfile {
            path: inner("(python site-packages)"),
            kind: Kind::PythonMetadata,
            packages: python,
        });
    }
    (out, errors)
}
