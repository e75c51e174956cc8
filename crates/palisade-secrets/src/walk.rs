//! Working-tree and stdin sources.
//!
//! Walking uses the `ignore` crate (ripgrep's walker): `.gitignore`, `.ignore` and
//! `.palisadeignore` files are honoured, hidden files are scanned (secrets love dotfiles), `.git`
//! directories are skipped, binary files are skipped by sniffing for a NUL byte, and files over
//! the size cap are skipped and reported.

use crate::scanner::{Finding, Issue, Outcome, Progress, Scanner, bump};
use ignore::{WalkBuilder, WalkState};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

/// How much of a file is sniffed for a NUL byte to call it binary.
pub const BINARY_SNIFF_LEN: usize = 8192;
/// Default size cap: larger files are skipped (and reported).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;
/// The ignore file palisade reads besides `.gitignore` and `.ignore`.
pub const IGNORE_FILE: &str = ".palisadeignore";

#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub max_file_size: u64,
    pub follow_symlinks: bool,
    /// 0 = number of CPUs.
    pub threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            follow_symlinks: false,
            threads: 0,
        }
    }
}

/// True when the first bytes contain a NUL: the blob is treated as binary.
pub fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(BINARY_SNIFF_LEN)]).is_some()
}

#[derive(Default)]
struct Shared {
    findings: Vec<Finding>,
    issues: Vec<Issue>,
    files: u64,
    bytes: u64,
    binary: u64,
    large: u64,
}

/// Scan files and directories. Unreadable inputs become issues; the walk goes on.
///
/// Inputs named here that are not directories are read directly, whatever they are: regular
/// files, symbolic links to them, and non-regular files such as `/dev/stdin`, named pipes
/// (`<(cmd)`) and devices (read up to the size cap). A binary file named here is reported as
/// skipped; one met while walking a directory is only counted.
pub fn scan_paths(
    scanner: &Scanner,
    paths: &[&Path],
    opts: &WalkOptions,
    progress: &Progress,
) -> Outcome {
    let shared = Mutex::new(Shared::default());
    let mut dirs: Vec<&Path> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    for &p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => dirs.push(p),
            Ok(_) => scan_file(
                scanner,
                p,
                &display_path(p),
                true,
                opts,
                progress,
                &mut buf,
                &shared,
            ),
            Err(e) => {
                let message = if is_broken_symlink(p) {
                    BROKEN_SYMLINK.to_string()
                } else {
                    e.to_string()
                };
                lock(&shared).issues.push(Issue {
                    path: display_path(p),
                    message,
                    is_error: true,
                    skipped: false,
                });
            }
        }
    }
    if !dirs.is_empty() {
        walk_dirs(scanner, &dirs, opts, progress, &shared);
    }
    let s = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut out = Outcome {
        findings: s.findings,
        issues: s.issues,
        files_scanned: s.files,
        bytes_scanned: s.bytes,
        skipped_binary: s.binary,
        skipped_too_large: s.large,
    };
    out.finish();
    out
}

const BROKEN_SYMLINK: &str = "broken symbolic link (its target does not exist); nothing to scan";

fn is_broken_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
        && std::fs::metadata(p).is_err()
}

fn walk_dirs(
    scanner: &Scanner,
    dirs: &[&Path],
    opts: &WalkOptions,
    progress: &Progress,
    shared: &Mutex<Shared>,
) {
    let Some((first, rest)) = dirs.split_first() else {
        return;
    };
    let mut wb = WalkBuilder::new(first);
    for p in rest {
        wb.add(p);
    }
    wb.hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .ignore(true)
        .parents(true)
        .follow_links(opts.follow_symlinks)
        .add_custom_ignore_filename(IGNORE_FILE)
        .filter_entry(|e| e.file_name() != ".git")
        .threads(opts.threads);
    wb.build_parallel().run(|| {
        let mut buf: Vec<u8> = Vec::new();
        Box::new(move |entry| {
            match entry {
                Ok(e) => {
                    let is_file = e.file_type().is_some_and(|t| t.is_file());
                    if is_file {
                        let display = display_path(e.path());
                        scan_file(
                            scanner,
                            e.path(),
                            &display,
                            false,
                            opts,
                            progress,
                            &mut buf,
                            shared,
                        );
                    }
                }
                Err(err) => {
                    let (path, message, is_error) = split_walk_error(&err);
                    lock(shared).issues.push(Issue {
                        path,
                        message,
                        is_error,
                        skipped: false,
                    });
                }
            }
            WalkState::Continue
        })
    });
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// (path, message, is_error). A symlink loop is a warning: nothing goes unscanned.
fn split_walk_error(err: &ignore::Error) -> (String, String, bool) {
    match err {
        // Followed symlinks whose target is missing hold no content: a warning.
        ignore::Error::WithPath { path, .. } if is_broken_symlink(path) => {
            (display_path(path), BROKEN_SYMLINK.to_string(), false)
        }
        ignore::Error::WithPath { path, err } => {
            let (_, m, e) = split_walk_error(err);
            (display_path(path), m, e)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            split_walk_error(err)
        }
        ignore::Error::Loop { child, ancestor } => (
            display_path(child),
            format!(
                "symlink loop (points back to {}); not followed",
                display_path(ancestor)
            ),
            false,
        ),
        other => (String::new(), other.to_string(), true),
    }
}

/// Paths are reported as given, without a leading `./`, with `/` separators.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

/// Scan one file. `named`: the file was named by the caller (not met while walking), so a
/// binary one is reported as skipped.
#[allow(clippy::too_many_arguments)]
fn scan_file(
    scanner: &Scanner,
    path: &Path,
    display: &str,
    named: bool,
    opts: &WalkOptions,
    progress: &Progress,
    buf: &mut Vec<u8>,
    shared: &Mutex<Shared>,
) {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            lock(shared).issues.push(Issue {
                path: display.to_string(),
                message: e.to_string(),
                is_error: true,
                skipped: false,
            });
            return;
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > opts.max_file_size {
        let mut s = lock(shared);
        s.large += 1;
        s.issues.push(Issue {
            path: display.to_string(),
            message: format!(
                "skipped: {len} bytes is over the size cap of {} bytes",
                opts.max_file_size
            ),
            is_error: false,
            skipped: true,
        });
        return;
    }
    buf.clear();
    // Read at most cap+1 bytes so a file that grows while we read cannot blow the cap.
    if let Err(e) = (&mut file)
        .take(opts.max_file_size.saturating_add(1))
        .read_to_end(buf)
    {
        lock(shared).issues.push(Issue {
            path: display.to_string(),
            message: e.to_string(),
            is_error: true,
            skipped: false,
        });
        return;
    }
    // A pipe or device has no length up front: the cap is checked on what was read.
    if buf.len() as u64 > opts.max_file_size {
        let mut s = lock(shared);
        s.large += 1;
        s.issues.push(Issue {
            path: display.to_string(),
            message: format!(
                "skipped: more than {} bytes (the size cap) could be read",
                opts.max_file_size
            ),
            is_error: false,
            skipped: true,
        });
        return;
    }
    bump(&progress.files, 1);
    bump(&progress.bytes, buf.len() as u64);
    if looks_binary(buf) {
        let mut s = lock(shared);
        s.binary += 1;
        if named {
            s.issues.push(Issue {
                path: display.to_string(),
                message: "skipped: binary (a NUL byte in its first 8 KiB)".to_string(),
                is_error: false,
                skipped: true,
            });
        }
        return;
    }
    let found = scanner.scan(display, buf);
    bump(&progress.findings, found.len() as u64);
    let mut s = lock(shared);
    s.files += 1;
    s.bytes += buf.len() as u64;
    s.findings.extend(found);
    if buf.capacity() > (16 << 20) {
        *buf = Vec::new(); // do not keep a huge buffer per thread after one big file
    }
}

/// Scan everything readable from `reader` as one blob named `name`.
pub fn scan_reader(
    scanner: &Scanner,
    name: &str,
    mut reader: impl Read,
    max_size: u64,
) -> Result<Outcome, crate::Error> {
    let mut buf = Vec::new();
    reader
        .by_ref()
        .take(max_size.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| crate::Error::Io {
            path: name.to_string(),
            source: e,
        })?;
    let mut out = Outcome::default();
    if buf.len() as u64 > max_size {
        out.skipped_too_large = 1;
        out.issues.push(Issue {
            path: name.to_string(),
            message: format!("skipped: input is over the size cap of {max_size} bytes"),
            is_error: false,
            skipped: true,
        });
        return Ok(out);
    }
    out.files_scanned = 1;
    out.bytes_scanned = buf.len() as u64;
    out.findings = scanner.scan(name, &buf);
    out.finish();
    Ok(out)
}
