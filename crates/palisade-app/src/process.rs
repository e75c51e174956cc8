//! The process a server runs as. glibc gives threads malloc arenas of their own (up to eight
//! per core) and keeps what is freed in each; a server whose work hops between threads (the
//! async workers, the blocking pool, SQLite's writer) grows for it and does not shrink: at 1,000
//! deployed SBOMs each re-match left the process about 50 MiB larger than it found it
//! (BENCHMARKS). Four arenas keep it bounded (peak 198 MiB over three re-matches, against 253
//! MiB and growing) at no measured cost in alert intake; two kept it lower still (162 MiB) but
//! took about 12 % off the intake rate, the threads queueing for the arenas.
//!
//! The arena count is read when the C library starts, so it cannot be changed from inside a
//! running process without `mallopt` (which this workspace, free of `unsafe`, does not call):
//! [`cap_malloc_arenas`] runs the program again, once, with `MALLOC_ARENA_MAX=4`.

/// The arena cap a server runs with unless `MALLOC_ARENA_MAX` says otherwise.
pub const MALLOC_ARENAS: &str = "4";

/// When the C library is glibc and `MALLOC_ARENA_MAX` is not set, replace this process with the
/// same program and arguments under `MALLOC_ARENA_MAX=4` (same process id, same open files).
/// Returns only when nothing was done: the variable is set (to any value: the operator's
/// choice), another C library is in use, or the program could not be run again (the reason is
/// returned, and the process carries on as it is).
pub fn cap_malloc_arenas() -> Option<String> {
    if !cfg!(all(target_os = "linux", target_env = "gnu"))
        || std::env::var_os("MALLOC_ARENA_MAX").is_some()
    {
        return None;
    }
    run_again_with_arena_cap()
}

#[cfg(unix)]
fn run_again_with_arena_cap() -> Option<String> {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return Some(format!(
                "cannot find this program to cap its memory arenas: {e}"
            ));
        }
    };
    // `exec` returns only on failure.
    let e = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", MALLOC_ARENAS)
        .exec();
    Some(format!(
        "cannot run again with MALLOC_ARENA_MAX={MALLOC_ARENAS}: {e}"
    ))
}

#[cfg(not(unix))]
fn run_again_with_arena_cap() -> Option<String> {
    None
}
