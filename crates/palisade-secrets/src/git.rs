//! Git sources: full history (every blob reachable from any ref, scanned once) and the index.
//!
//! History: commits reachable from every ref (and HEAD) are walked parents-first; each commit's
//! tree is traversed, skipping trees already seen, so every distinct blob is found once, with the
//! path and commit through which it first appears. Blobs are then read and scanned in parallel,
//! one libgit2 repository handle per thread.

use crate::error::Error;
use crate::scanner::{CommitInfo, Issue, Outcome, Progress, Scanner, bump};
use crate::walk::looks_binary;
use git2::{ObjectType, Oid, Repository, Sort};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

fn git_err(path: &Path, e: &git2::Error) -> Error {
    Error::Git {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

fn open(path: &Path) -> Result<Repository, Error> {
    Repository::discover(path).map_err(|e| git_err(path, &e))
}

/// Object ids are already uniformly distributed: hash them by their first 8 bytes instead of
/// running SipHash over all 20 (the seen-sets are hit once per tree entry of every commit).
#[derive(Default)]
struct OidHasher(u64);

impl Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut buf = [0u8; 8];
        let n = bytes.len().min(8);
        buf[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(buf);
    }
    fn write_usize(&mut self, _: usize) {} // the slice length prefix carries no information
}

type OidSet = HashSet<Oid, BuildHasherDefault<OidHasher>>;

/// `BlobRef::commit` of an object reached from a ref without a commit (a tag of a tree or blob).
const NO_COMMIT: u32 = u32::MAX;

struct BlobRef {
    oid: Oid,
    path: String,
    commit: u32,
}

fn commit_info(c: &git2::Commit<'_>) -> CommitInfo {
    let a = c.author();
    let when = a.when();
    let date = time::UtcOffset::from_whole_seconds(when.offset_minutes() * 60)
        .ok()
        .and_then(|off| {
            time::OffsetDateTime::from_unix_timestamp(when.seconds())
                .ok()
                .map(|t| t.to_offset(off))
        })
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    CommitInfo {
        commit: c.id().to_string(),
        author: String::from_utf8_lossy(a.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(a.email_bytes()).into_owned(),
        date,
    }
}

/// Scan every blob reachable from any ref of the repository containing `path`.
pub fn scan_history(
    scanner: &Scanner,
    path: &Path,
    max_file_size: u64,
    threads: usize,
    progress: &Progress,
) -> Result<Outcome, Error> {
    // libgit2 re-hashes every object it reads with collision-detecting SHA-1 (a fifth of the
    // history scan's CPU). A damaged object still fails to inflate or parse and is reported.
    // The setting is process-global; the binary runs one scan per process.
    git2::opts::strict_hash_verification(false);
    let repo = open(path)?;
    let repo_dir: PathBuf = repo.path().to_path_buf();
    let mut out = Outcome::default();
    let mut walk = repo.revwalk().map_err(|e| git_err(&repo_dir, &e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| git_err(&repo_dir, &e))?;
    walk.push_glob("*").map_err(|e| git_err(&repo_dir, &e))?;
    // HEAD may be detached (not under refs/); an unborn HEAD is simply empty.
    let _ = walk.push_head();

    let mut commits: Vec<CommitInfo> = Vec::new();
    let mut blobs: Vec<BlobRef> = Vec::new();
    let mut seen_trees = OidSet::default();
    let mut seen_blobs = OidSet::default();
    for oid in walk {
        let oid = match oid {
            Ok(o) => o,
            Err(e) => {
                out.issues.push(Issue {
                    path: repo_dir.display().to_string(),
                    message: e.message().to_string(),
                    is_error: true,
                    skipped: false,
                });
                continue;
            }
        };
        let commit = match repo.find_commit(oid) {
            Ok(c) => c,
            Err(e) => {
                out.issues.push(Issue {
                    path: format!("commit {oid}"),
                    message: e.message().to_string(),
                    is_error: true,
                    skipped: false,
                });
                continue;
            }
        };
        let idx = commits.len() as u32;
        commits.push(commit_info(&commit));
        let tree_id = commit.tree_id();
        collect_tree(
            &repo,
            tree_id,
            "",
            idx,
            &mut seen_trees,
            &mut seen_blobs,
            &mut blobs,
            &mut out.issues,
        );
    }
    // Refs that point (directly or through annotated tags) at a tree or a blob rather than a
    // commit: their objects are reachable too, with no commit to report.
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            let name = r.name().unwrap_or("<ref>").to_string();
            let Ok(obj) = r.peel(ObjectType::Any) else {
                continue;
            };
            match obj.kind() {
                Some(ObjectType::Tree) => collect_tree(
                    &repo,
                    obj.id(),
                    &name,
                    NO_COMMIT,
                    &mut seen_trees,
                    &mut seen_blobs,
                    &mut blobs,
                    &mut out.issues,
                ),
                Some(ObjectType::Blob) if seen_blobs.insert(obj.id()) => {
                    blobs.push(BlobRef {
                        oid: obj.id(),
                        path: name,
                        commit: NO_COMMIT,
                    });
                }
                _ => {}
            }
        }
    }
    progress.total.store(blobs.len() as u64, Ordering::Relaxed);
    drop(repo);

    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Outcome::default());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut local = Outcome::default();
                match Repository::open(&repo_dir) {
                    Ok(repo) => loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(b) = blobs.get(i) else { break };
                        scan_blob(
                            scanner,
                            &repo,
                            b,
                            commits.get(b.commit as usize),
                            max_file_size,
                            progress,
                            &mut local,
                        );
                    },
                    Err(e) => local.issues.push(Issue {
                        path: repo_dir.display().to_string(),
                        message: e.message().to_string(),
                        is_error: true,
                        skipped: false,
                    }),
                }
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                r.findings.append(&mut local.findings);
                r.issues.append(&mut local.issues);
                r.files_scanned += local.files_scanned;
                r.bytes_scanned += local.bytes_scanned;
                r.skipped_binary += local.skipped_binary;
                r.skipped_too_large += local.skipped_too_large;
            });
        }
    });
    let mut r = results.into_inner().unwrap_or_else(|p| p.into_inner());
    out.findings.append(&mut r.findings);
    out.issues.append(&mut r.issues);
    out.files_scanned = r.files_scanned;
    out.bytes_scanned = r.bytes_scanned;
    out.skipped_binary = r.skipped_binary;
    out.skipped_too_large = r.skipped_too_large;
    out.finish();
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn collect_tree(
    repo: &Repository,
    tree_id: Oid,
    prefix: &str,
    commit: u32,
    seen_trees: &mut OidSet,
    seen_blobs: &mut OidSet,
    blobs: &mut Vec<BlobRef>,
    issues: &mut Vec<Issue>,
) {
    if !seen_trees.insert(tree_id) {
        return;
    }
    let tree = match repo.find_tree(tree_id) {
        Ok(t) => t,
        Err(e) => {
            issues.push(Issue {
                path: format!(
                    "{}tree {tree_id}",
                    if prefix.is_empty() {
                        String::new()
                    } else {
                        format!("{prefix} ")
                    }
                ),
                message: e.message().to_string(),
                is_error: true,
                skipped: false,
            });
            return;
        }
    };
    for entry in tree.iter() {
        let id = entry.id();
        // Check the seen-sets before building the path: most entries of most trees were
        // seen in an earlier commit, and formatting their paths dominated the walk.
        let is_tree = match entry.kind() {
            Some(ObjectType::Tree) if !seen_trees.contains(&id) => true,
            Some(ObjectType::Blob) if seen_blobs.insert(id) => false,
            _ => continue, // seen, or a submodule commit (another repository)
        };
        let name = String::from_utf8_lossy(entry.name_bytes());
        let path = if prefix.is_empty() {
            name.into_owned()
        } else {
            format!("{prefix}/{name}")
        };
        if is_tree {
            collect_tree(
                repo, id, &path, commit, seen_trees, seen_blobs, blobs, issues,
            );
        } else {
            blobs.push(BlobRef {
                oid: id,
                path,
                commit,
            });
        }
    }
}

fn scan_blob(
    scanner: &Scanner,
    repo: &Repository,
    b: &BlobRef,
    commit: Option<&CommitInfo>,
    max_file_size: u64,
    progress: &Progress,
    out: &mut Outcome,
) {
    let blob = match repo.find_blob(b.oid) {
        Ok(blob) => blob,
        Err(e) => {
            out.issues.push(Issue {
                path: format!("{} (blob {})", b.path, b.oid),
                message: e.message().to_string(),
                is_error: true,
                skipped: false,
            });
            return;
        }
    };
    let data = blob.content();
    bump(&progress.files, 1);
    bump(&progress.bytes, data.len() as u64);
    if data.len() as u64 > max_file_size {
        out.skipped_too_large += 1;
        out.issues.push(Issue {
            path: format!("{} (blob {})", b.path, b.oid),
            message: format!(
                "skipped: {} bytes is over the size cap of {max_file_size} bytes",
                data.len()
            ),
            is_error: false,
            skipped: true,
        });
        return;
    }
    if looks_binary(data) {
        out.skipped_binary += 1;
        return;
    }
    out.files_scanned += 1;
    out.bytes_scanned += data.len() as u64;
    let mut found = scanner.scan(&b.path, data);
    bump(&progress.findings, found.len() as u64);
    if let Some(info) = commit {
        for f in &mut found {
            f.commit = Some(info.clone());
        }
    }
    out.findings.append(&mut found);
}

/// Scan the index (staged contents) of the repository containing `path`, for pre-commit use.
/// Paths are relative to the repository root.
pub fn scan_staged(
    scanner: &Scanner,
    path: &Path,
    max_file_size: u64,
    progress: &Progress,
) -> Result<Outcome, Error> {
    let repo = open(path)?;
    let index = repo.index().map_err(|e| git_err(repo.path(), &e))?;
    let mut out = Outcome::default();
    for entry in index.iter() {
        // Conflict stages (1..3) are not what will be committed.
        if (entry.flags >> 12) & 0x3 != 0 {
            continue;
        }
        if entry.mode & 0o170000 == 0o160000 {
            continue; // gitlink (submodule)
        }
        let b = BlobRef {
            oid: entry.id,
            path: String::from_utf8_lossy(&entry.path).into_owned(),
            commit: 0,
        };
        scan_blob(scanner, &repo, &b, None, max_file_size, progress, &mut out);
    }
    out.finish();
    Ok(out)
}
