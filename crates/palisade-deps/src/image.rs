//! Container images: `docker save` tarballs and OCI image layouts (tar or directory).
//!
//! Layers are applied in order with OCI whiteouts (`.wh.NAME` deletes `NAME`, `.wh..wh..opq`
//! empties its directory of lower-layer content). Only the files the scanner reads are kept:
//! `etc/os-release`, the dpkg status database, the apk installed database, lockfiles, and Python
//! distribution metadata. OS packages are matched by their *source* package for the image's
//! release (`Debian:12`, `Alpine:v3.19`), as distribution advisories are written.
//!
//! Nothing is read whole: an image tarball is indexed (entry names, offsets and sizes) by
//! seeking over its entries, and each layer is streamed from the file through its decompressor
//! (gzip, zstd, or none, told by the magic bytes) and the tar reader, so memory does not grow
//! with the size of the image or of a layer, only with the files kept. A gzip-compressed image
//! tarball (`docker save | gzip`) is indexed in one streamed pass, and each layer read by
//! decompressing it again up to that layer: a pass per layer, memory still flat.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::lockfile::{self, Kind, Lockfile, OsPackage, Package};
use crate::version::Ecosystem;
use crate::{Error, Result};

/// The files of interest in the image's final filesystem (path without leading `/` -> content).
/// Python metadata files (`METADATA`, `PKG-INFO`) are kept up to the end of their headers.
#[derive(Debug, Default)]
pub struct Filesystem {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Symbolic links among the files of interest (path -> target as written), e.g.
    /// `etc/os-release -> ../usr/lib/os-release` in Debian images.
    pub links: BTreeMap<String, String>,
}

/// Text files up to this size are kept too, so `requirements.txt` `-r` includes resolve.
const MAX_INCLUDE: u64 = 256 * 1024;
/// A file of interest larger than this (a lockfile or package database) is an error, not read.
pub const MAX_KEPT: u64 = 64 * 1024 * 1024;
/// Largest `manifest.json`, `index.json` or image manifest read.
const MAX_JSON: u64 = 16 * 1024 * 1024;

fn interesting(path: &str, size: u64) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        path,
        "etc/os-release" | "usr/lib/os-release" | "var/lib/dpkg/status" | "lib/apk/db/installed"
    ) || path.starts_with("var/lib/dpkg/status.d/")
        || (name == "METADATA" && path.contains(".dist-info/"))
        || (name == "PKG-INFO" && path.contains(".egg-info/"))
        || Kind::detect(Path::new(name)).is_some()
        || (name.ends_with(".txt") && size <= MAX_INCLUDE && !in_package_data(path))
}

/// Directories whose `.txt` files are package data (licences, `top_level.txt`, docs), never a
/// requirements include.
fn in_package_data(path: &str) -> bool {
    path.starts_with("usr/share/")
        || path.contains(".dist-info/")
        || path.contains(".egg-info/")
        || path.contains("/node_modules/")
}

fn normalize(p: &str) -> String {
    p.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// Read until `buf` is full or the stream ends; the number of bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A zstd stream as a reader: every frame in turn (skippable frames skipped), each frame's
/// checksum verified when it has one. Memory is bounded by the frame's window (at most
/// ruzstd's default limit, 128 MiB), whatever the stream's length.
struct ZstdReader<R: BufRead> {
    source: R,
    frame: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdReader<R> {
    fn new(source: R) -> Self {
        ZstdReader {
            source,
            frame: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
        }
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        let zerr = |m: String| std::io::Error::other(format!("zstd: {m}"));
        loop {
            if self.in_frame {
                if self.frame.can_collect() > 0 {
                    return self.frame.read(buf);
                }
                if self.frame.is_finished() {
                    if let (Some(want), Some(got)) = (
                        self.frame.get_checksum_from_data(),
                        self.frame.get_calculated_checksum(),
                    ) && want != got
                    {
                        return Err(zerr(format!(
                            "frame checksum mismatch (stored {want:08x}, computed {got:08x})"
                        )));
                    }
                    self.in_frame = false;
                    continue;
                }
                if let Err(e) = self
                    .frame
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                {
                    return Err(if self.source.fill_buf()?.is_empty() {
                        zerr(format!("truncated: the stream ends inside a frame ({e})"))
                    } else {
                        zerr(e.to_string())
                    });
                }
                continue;
            }
            if self.source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            match self.frame.reset(&mut self.source) {
                Ok(()) => self.in_frame = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = std::io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut std::io::sink(),
                    )?;
                    if skipped < u64::from(length) {
                        return Err(zerr("truncated skippable frame".into()));
                    }
                }
                Err(e) => return Err(zerr(e.to_string())),
            }
        }
    }
}

/// Prefixes the errors of a decompressor with its name (`gzip: …`).
struct Named<R> {
    name: &'static str,
    inner: R,
}

impl<R: Read> Read for Named<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.to_string().starts_with(self.name) {
                e
            } else {
                std::io::Error::new(e.kind(), format!("{}: {e}", self.name))
            }
        })
    }
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

    /// Apply one layer on top of the current state. The layer is a tar stream, gzip- or
    /// zstd-compressed or plain (told by its first bytes), read once from `layer` as it goes;
    /// only the files of interest are kept. `origin` names the layer in errors.
    pub fn apply_layer(&mut self, origin: &Path, mut layer: impl Read) -> Result<()> {
        let arch = |m: String| Error::Archive {
            path: origin.to_path_buf(),
            message: m,
        };
        let mut magic = [0u8; 4];
        let n = read_up_to(&mut layer, &mut magic).map_err(|e| arch(format!("layer: {e}")))?;
        let raw = std::io::Cursor::new(magic).take(n as u64).chain(layer);
        let head = &magic[..n];
        let data: Box<dyn Read + '_> = if head.starts_with(&ZSTD_MAGIC) {
            Box::new(Named {
                name: "zstd",
                inner: ZstdReader::new(BufReader::with_capacity(64 * 1024, raw)),
            })
        } else if head.starts_with(&GZIP_MAGIC) {
            Box::new(Named {
                name: "gzip",
                inner: flate2::read::MultiGzDecoder::new(raw),
            })
        } else {
            Box::new(raw)
        };
        let mut added: Vec<(String, Vec<u8>)> = Vec::new();
        let mut tar = tar::Archive::new(data);
        let layer_err = |e: std::io::Error| arch(format!("layer: {e}"));
        for entry in tar.entries().map_err(layer_err)? {
            let mut entry = entry.map_err(layer_err)?;
            let path = normalize(&entry.path().map_err(layer_err)?.to_string_lossy());
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
                if entry.size() > MAX_KEPT {
                    return Err(arch(format!(
                        "{path}: {} bytes, more than the {} MiB read from one lockfile or package database",
                        entry.size(),
                        MAX_KEPT >> 20
                    )));
                }
                let mut buf = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut buf).map_err(layer_err)?;
                if name == "METADATA" || name == "PKG-INFO" {
                    // Only the headers are read (Name, Version): drop the long description.
                    if let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                        buf.truncate(end + 1);
                    }
                }
                added.push((path, buf));
            } else {
                self.files.remove(&path);
            }
        }
        // Read the stream to its end (the tar reader stops at the end-of-archive blocks), so a
        // truncated or corrupt compressed layer is an error, checksums included.
        std::io::copy(&mut tar.into_inner(), &mut std::io::sink()).map_err(layer_err)?;
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

/// Where an image's files are: an OCI layout directory, or a tarball indexed by entry name
/// (data offset and size; symbolic and hard links as their targets).
enum Container {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        /// The tarball is gzip-compressed (`docker save | gzip`): offsets are positions in the
        /// decompressed stream, reached by decompressing from the start (a gzip stream cannot
        /// be seeked), so each file read costs a pass over the tarball up to that file, and
        /// memory stays flat.
        gzip: bool,
        entries: HashMap<String, (u64, u64)>,
        links: HashMap<String, String>,
        /// Of a gzip-compressed tarball: the small files (manifests, configs, small layers) read
        /// while indexing it, so reading the manifests costs no further pass.
        small: HashMap<String, Vec<u8>>,
    },
}

/// Files up to this size are kept while indexing a gzip-compressed image tarball…
const GZIP_SMALL_FILE: u64 = 64 * 1024;
/// …up to this much in all.
const GZIP_SMALL_TOTAL: u64 = 16 * 1024 * 1024;

/// A gzip-compressed file, decompressed as it is read.
fn gunzip(file: File) -> Named<flate2::read::MultiGzDecoder<BufReader<File>>> {
    Named {
        name: "gzip",
        inner: flate2::read::MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, file)),
    }
}

impl Container {
    fn open(path: &Path) -> Result<Container> {
        if path.is_dir() {
            return Ok(Container::Dir(path.to_path_buf()));
        }
        let arch = |m: String| Error::Archive {
            path: path.to_path_buf(),
            message: m,
        };
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut magic = [0u8; 2];
        let n = read_up_to(&mut file, &mut magic).map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(path, e))?;
        let gzip = magic[..n] == GZIP_MAGIC;
        let mut entries = HashMap::new();
        let mut links = HashMap::new();
        let mut small = HashMap::new();
        let mut small_total = 0;
        if gzip {
            // Streamed once to index it; the small files are kept on the way.
            let mut tar = tar::Archive::new(gunzip(file));
            for entry in tar.entries().map_err(|e| arch(e.to_string()))? {
                let mut entry = entry.map_err(|e| arch(e.to_string()))?;
                let Some(name) = Container::index_entry(&entry, &mut entries, &mut links)
                    .map_err(|e| arch(e.to_string()))?
                else {
                    continue;
                };
                let size = entry.size();
                if size <= GZIP_SMALL_FILE && small_total + size <= GZIP_SMALL_TOTAL {
                    let mut buf = Vec::with_capacity(size as usize);
                    entry
                        .read_to_end(&mut buf)
                        .map_err(|e| arch(format!("{name}: {e}")))?;
                    small_total += size;
                    small.insert(name, buf);
                }
            }
            // To the end of the stream, so a truncated or corrupt file is an error here.
            std::io::copy(&mut tar.into_inner(), &mut std::io::sink())
                .map_err(|e| arch(e.to_string()))?;
        } else {
            let mut tar = tar::Archive::new(BufReader::new(file));
            for entry in tar.entries_with_seek().map_err(|e| arch(e.to_string()))? {
                let entry = entry.map_err(|e| arch(e.to_string()))?;
                Container::index_entry(&entry, &mut entries, &mut links)
                    .map_err(|e| arch(e.to_string()))?;
            }
        }
        Ok(Container::Tar {
            path: path.to_path_buf(),
            gzip,
            entries,
            links,
            small,
        })
    }

    /// Record a tarball entry: a file's data offset and size, or a link's target. Returns the
    /// name of a file.
    fn index_entry<R: Read>(
        entry: &tar::Entry<'_, R>,
        entries: &mut HashMap<String, (u64, u64)>,
        links: &mut HashMap<String, String>,
    ) -> std::io::Result<Option<String>> {
        let name = normalize(&entry.path()?.to_string_lossy());
        let kind = entry.header().entry_type();
        if kind.is_file() {
            entries.insert(name.clone(), (entry.raw_file_position(), entry.size()));
            return Ok(Some(name));
        } else if (kind.is_symlink() || kind.is_hard_link())
            && let Ok(Some(target)) = entry.link_name()
        {
            // `docker save` links a layer shared by two images to its first copy.
            let target = target.to_string_lossy();
            let resolved = if kind.is_symlink() && !target.starts_with('/') {
                join_relative(&name, &target)
            } else {
                Some(normalize(&target))
            };
            if let Some(t) = resolved {
                links.insert(name, t);
            }
        }
        Ok(None)
    }

    /// The tar entry a name refers to (its name, offset and size), following links a few hops.
    fn tar_entry<'a>(
        entries: &'a HashMap<String, (u64, u64)>,
        links: &'a HashMap<String, String>,
        name: &'a str,
    ) -> Option<(&'a str, u64, u64)> {
        let mut n = name;
        for _ in 0..8 {
            if let Some((offset, size)) = entries.get(n) {
                return Some((n, *offset, *size));
            }
            n = links.get(n)?;
        }
        None
    }

    fn has(&self, name: &str) -> bool {
        if !safe_relative(name) {
            return false;
        }
        match self {
            Container::Dir(root) => root.join(name).is_file(),
            Container::Tar { entries, links, .. } => {
                Container::tar_entry(entries, links, name).is_some()
            }
        }
    }

    /// The file `name` as a reader and its size; `Ok(None)` when there is no such file.
    fn open_file(&self, name: &str) -> Result<Option<(Box<dyn Read>, u64)>> {
        if !safe_relative(name) {
            return Ok(None);
        }
        match self {
            Container::Dir(root) => {
                let p = root.join(name);
                if !p.is_file() {
                    return Ok(None);
                }
                let f = File::open(&p).map_err(|e| Error::io(&p, e))?;
                let size = f.metadata().map_err(|e| Error::io(&p, e))?.len();
                Ok(Some((
                    Box::new(BufReader::with_capacity(64 * 1024, f)),
                    size,
                )))
            }
            Container::Tar {
                path,
                gzip,
                entries,
                links,
                small,
            } => {
                let Some((name, offset, size)) = Container::tar_entry(entries, links, name) else {
                    return Ok(None);
                };
                if let Some(b) = small.get(name) {
                    return Ok(Some((Box::new(std::io::Cursor::new(b.clone())), size)));
                }
                let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
                if *gzip {
                    let mut data = gunzip(f);
                    let skipped =
                        std::io::copy(&mut (&mut data).take(offset), &mut std::io::sink())
                            .map_err(|e| Error::Archive {
                                path: path.clone(),
                                message: e.to_string(),
                            })?;
                    if skipped < offset {
                        return Err(Error::Archive {
                            path: path.clone(),
                            message: format!("gzip: {name}: the stream ends before it"),
                        });
                    }
                    return Ok(Some((Box::new(data.take(size)), size)));
                }
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(path, e))?;
                Ok(Some((
                    Box::new(BufReader::with_capacity(64 * 1024, f.take(size))),
                    size,
                )))
            }
        }
    }

    /// A small JSON file (manifest, index), read whole.
    fn read_json(&self, image: &Path, name: &str) -> Result<Option<Vec<u8>>> {
        let Some((mut r, size)) = self.open_file(name)? else {
            return Ok(None);
        };
        if size > MAX_JSON {
            return Err(Error::Archive {
                path: image.to_path_buf(),
                message: format!("{name}: {size} bytes, too large for an image manifest"),
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        r.read_to_end(&mut buf).map_err(|e| Error::Archive {
            path: image.to_path_buf(),
            message: format!("{name}: {e}"),
        })?;
        Ok(Some(buf))
    }
}

/// A relative path inside the image container: no `..`, not absolute, not empty.
fn safe_relative(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// `target` relative to the directory of `name`, within the container (`None` above its root).
fn join_relative(name: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            ".." => {
                parts.pop()?;
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The blob path of an OCI digest (`sha256:abc…` -> `blobs/sha256/abc…`), if well-formed.
fn blob_path(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let hex_ok = !hex.is_empty()
        && hex
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    (alg_ok && hex_ok).then(|| format!("blobs/{alg}/{hex}"))
}

/// Read the image at `path` (a tar file or an OCI layout directory) and return its final
/// filesystem (the files of interest). Layers are streamed one at a time, never read whole.
pub fn read_image(path: &Path) -> Result<Filesystem> {
    let arch = |m: String| Error::Archive {
        path: path.to_path_buf(),
        message: m,
    };
    let container = Container::open(path)?;
    // The layers to apply, as names inside the container, bottom first.
    let layers: Vec<String> = if let Some(m) = container.read_json(path, "manifest.json")? {
        let manifests: Vec<DockerManifest> =
            serde_json::from_slice(&m).map_err(|e| arch(format!("manifest.json: {e}")))?;
        let first = manifests
            .first()
            .ok_or_else(|| arch("manifest.json lists no image".into()))?;
        first.layers.iter().map(|l| normalize(l)).collect()
    } else if let Some(i) = container.read_json(path, "index.json")? {
        let index: OciIndex =
            serde_json::from_slice(&i).map_err(|e| arch(format!("index.json: {e}")))?;
        let mut digest = index
            .manifests
            .first()
            .ok_or_else(|| arch("index.json lists no manifest".into()))?
            .digest
            .clone();
        let blob = |digest: &str| -> Result<String> {
            blob_path(digest).ok_or_else(|| arch(format!("malformed digest {digest:?}")))
        };
        // Follow nested indexes (multi-platform images) to the first image manifest.
        let mut depth = 0;
        let manifest = loop {
            let bytes = container
                .read_json(path, &blob(&digest)?)?
                .ok_or_else(|| arch(format!("missing blob {digest}")))?;
            let m: OciManifest = serde_json::from_slice(&bytes)
                .map_err(|e| arch(format!("manifest {digest}: {e}")))?;
            match m.manifests.first() {
                Some(next) if m.layers.is_empty() && depth < 4 => {
                    digest = next.digest.clone();
                    depth += 1;
                }
                _ => break m,
            }
        };
        manifest
            .layers
            .iter()
            .map(|l| blob(&l.digest))
            .collect::<Result<_>>()?
    } else {
        return Err(arch(
            "neither manifest.json (docker save) nor index.json (OCI layout)".into(),
        ));
    };
    // Every layer must be there before any is read.
    if let Some(missing) = layers.iter().find(|l| !container.has(l)) {
        return Err(arch(format!("missing layer {missing}")));
    }
    let mut fs = Filesystem::default();
    for l in &layers {
        let origin = PathBuf::from(format!("{}!/{l}", path.display()));
        let (reader, _) = container
            .open_file(l)?
            .ok_or_else(|| arch(format!("missing layer {l}")))?;
        fs.apply_layer(&origin, reader)?;
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
            os: Some(Box::new(OsPackage {
                release: release.to_string(),
                source_name: src_name.to_string(),
                source_version: src_version.to_string(),
            })),
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
            os: Some(Box::new(OsPackage {
                release: release.to_string(),
                source_name: field("o:").unwrap_or(name).to_string(),
                source_version: version.to_string(),
            })),
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
