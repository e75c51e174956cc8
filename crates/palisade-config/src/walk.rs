//! The edge of the crate: finding configuration files and reading them.
//!
//! Directories are walked with the `ignore` crate as `scan secrets` walks them (`.gitignore`,
//! `.ignore` and `.palisadeignore` honoured, hidden files included, `.git` skipped), in
//! parallel; only files whose name makes them configuration ([`crate::kind_by_name`]) are read.
//! A file named on the command line is read whatever its name (its kind then comes from the
//! name or the content). Every input that cannot be checked is an [`Issue`] with its path and
//! the walk goes on: unreadable (error), not UTF-8 (error), malformed (error, with line and
//! column), binary (skipped), over the size cap (skipped).

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::finding::{Issue, Outcome};
use crate::{InputKind, check_text, kind_by_name, sniff};

/// Default size cap: larger files are skipped and reported (configuration files are small; a
/// 10 MiB YAML file is generated data, not a manifest to review).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 << 20;
/// The ignore file read besides `.gitignore` and `.ignore` (the one `scan secrets` reads).
pub const IGNORE_FILE: &str = ".palisadeignore";
/// How much of a file is sniffed for a NUL byte to call it binary.
pub const BINARY_SNIFF_LEN: usize = 8192;

#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub max_file_size: u64,
    pub follow_symlinks: bool,
    /// 0 = one per CPU.
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

/// Paths are shown as given, without a leading `./`, with `/` separators.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

/// Check bytes read from `name` (a file or stdin): size cap, binary, UTF-8, then the checks.
/// `kind`: `None` reads the kind from the content.
pub fn check_bytes(name: &str, bytes: &[u8], kind: Option<InputKind>, max_size: u64) -> Outcome {
    let mut out = Outcome::default();
    // A `.json` file is configuration only when it is a Kubernetes object: any other one (too
    // big, binary, not UTF-8) is none of this scan's business.
    if kind == Some(InputKind::Json)
        && !(memmem(bytes, b"\"apiVersion\"") && memmem(bytes, b"\"kind\""))
    {
        return out;
    }
    if bytes.len() as u64 > max_size {
        out.stats.skipped_too_large = 1;
        out.issues.push(Issue::skipped(
            name,
            format!("skipped: over the size cap of {max_size} bytes"),
        ));
        return out;
    }
    if memchr_nul(&bytes[..bytes.len().min(BINARY_SNIFF_LEN)]) {
        out.stats.skipped_binary = 1;
        out.issues.push(Issue::skipped(
            name,
            "skipped: binary (a NUL byte in its first 8 KiB)",
        ));
        return out;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            out.issues.push(
                Issue::error(
                    name,
                    format!(
                        "not UTF-8 (invalid byte at offset {}): configuration files are read as UTF-8",
                        e.valid_up_to()
                    ),
                )
                .at(line, 1),
            );
            return out;
        }
    };
    let kind = kind.unwrap_or_else(|| sniff(text));
    // A bug in a check must not end the scan of the other files: it becomes this file's error.
    std::panic::catch_unwind(|| check_text(name, text, kind)).unwrap_or_else(|_| Outcome {
        issues: vec![Issue::error(
            name,
            "internal error while checking this file (a bug in palisade; please report it)",
        )],
        ..Outcome::default()
    })
}

fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn memchr_nul(b: &[u8]) -> bool {
    b.contains(&0)
}

/// Read at most `max + 1` bytes of `reader` (so a file growing while read cannot pass the cap).
fn read_capped(reader: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Check everything `reader` gives (stdin) as one input named `name`.
pub fn check_reader(name: &str, reader: impl Read, opts: &WalkOptions) -> Outcome {
    match read_capped(reader, opts.max_file_size) {
        Ok(b) => check_bytes(name, &b, None, opts.max_file_size),
        Err(e) => Outcome {
            issues: vec![Issue::error(name, e.to_string())],
            ..Outcome::default()
        },
    }
}

fn check_file(path: &Path, kind: Option<InputKind>, opts: &WalkOptions) -> Outcome {
    let name = display_path(path);
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return Outcome {
                issues: vec![Issue::error(&name, e.to_string())],
                ..Outcome::default()
            };
        }
    };
    // Do not read a file known to be over the cap.
    if let Ok(m) = file.metadata()
        && m.is_file()
        && m.len() > opts.max_file_size
    {
        if kind == Some(InputKind::Json) {
            return Outcome::default(); // a data file, most likely: not configuration
        }
        let mut out = Outcome::default();
        out.stats.skipped_too_large = 1;
        out.issues.push(Issue::skipped(
            &name,
            format!(
                "skipped: {} bytes is over the size cap of {} bytes",
                m.len(),
                opts.max_file_size
            ),
        ));
        return out;
    }
    match read_capped(file, opts.max_file_size) {
        Ok(b) => check_bytes(&name, &b, kind, opts.max_file_size),
        Err(e) => Outcome {
            issues: vec![Issue::error(&name, e.to_string())],
            ..Outcome::default()
        },
    }
}

/// Check files and directories. A file named here is checked whatever its name; in
/// directories, only configuration files by name are.
pub fn check_paths(paths: &[&Path], opts: &WalkOptions) -> Outcome {
    let total = Mutex::new(Outcome::default());
    let mut dirs = Vec::new();
    for &p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => dirs.push(p),
            Ok(_) => {
                let kind = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(kind_by_name);
                let o = check_file(p, kind, opts);
                lock(&total).merge(o);
            }
            Err(e) => lock(&total)
                .issues
                .push(Issue::error(&display_path(p), e.to_string())),
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
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
        let total = &total;
        wb.build_parallel().run(|| {
            Box::new(move |entry| {
                match entry {
                    Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                        let kind = e.file_name().to_str().and_then(kind_by_name);
                        if kind.is_some() && in_helm_templates(e.path()) {
                            lock(total).issues.push(Issue::warning(
                                &display_path(e.path()),
                                "not checked: a Helm chart template; check the rendered chart (`helm template … | palisade scan config -`)",
                            ));
                        } else if let Some(kind) = kind {
                            let o = check_file(e.path(), Some(kind), opts);
                            lock(total).merge(o);
                        }
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let (path, message, is_error) = split_walk_error(&err);
                        let mut i = Issue::error(&path, message);
                        i.is_error = is_error;
                        lock(total).issues.push(i);
                    }
                }
                WalkState::Continue
            })
        });
    }
    let mut out = total.into_inner().unwrap_or_else(|p| p.into_inner());
    out.finish();
    out
}

/// Is `path` in the `templates/` directory (or below) of a Helm chart (a directory holding
/// `Chart.yaml`)? Such files are Go templates, not YAML.
fn in_helm_templates(path: &Path) -> bool {
    path.ancestors().skip(1).any(|a| {
        a.file_name().is_some_and(|n| n == "templates")
            && a.parent().is_some_and(|c| c.join("Chart.yaml").is_file())
    })
}

fn lock(m: &Mutex<Outcome>) -> std::sync::MutexGuard<'_, Outcome> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// (path, message, is_error). A symlink loop is a warning: nothing goes unchecked.
fn split_walk_error(err: &ignore::Error) -> (String, String, bool) {
    match err {
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
