//! Sends every signed checkpoint to an external witness (an HTTP endpoint) as well.
//!
//! The local witness log is the outbox: the forwarder reads it from a cursor (a byte offset kept in
//! `witness-forward.cursor` beside it), POSTs each line as `application/json`, and advances the
//! cursor only after a 2xx answer. A crash between a commit and its delivery therefore still
//! delivers on the next start; a line may be delivered twice (after a crash between the POST and the
//! cursor write), so receivers deduplicate by `(stream, seq)`. The checkpoints are signed with
//! the ledger key, so a receiver can check them with the public key alone.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The cursor file's name beside the witness log.
pub const CURSOR_FILE: &str = palisade_store::DataDir::WITNESS_CURSOR_FILE;

/// Where and how to forward.
#[derive(Debug, Clone)]
pub struct ForwarderConfig {
    pub url: String,
    pub witness_log: PathBuf,
    /// First retry delay; doubles (with jitter) up to a minute.
    pub initial_backoff: Duration,
}

fn read_cursor(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn write_cursor(path: &Path, value: u64) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, value.to_string())?;
    std::fs::rename(tmp, path)
}

/// Complete lines after `offset` (a partial last line is left for later), with their end offsets.
fn pending_lines(log: &Path, offset: u64) -> std::io::Result<Vec<(String, u64)>> {
    let mut f = std::fs::File::open(log)?;
    let len = f.metadata()?.len();
    if len <= offset {
        return Ok(Vec::new());
    }
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.take((len - offset).min(4 << 20)).read_to_end(&mut buf)?;
    let mut out = Vec::new();
    let mut start = 0usize;
    for (i, b) in buf.iter().enumerate() {
        if *b == b'\n' {
            let line = String::from_utf8_lossy(&buf[start..i]).into_owned();
            out.push((line, offset + i as u64 + 1));
            start = i + 1;
        }
    }
    Ok(out)
}

/// Run the forwarder until the task is dropped. `wake` is notified after each append.
pub async fn run(config: ForwarderConfig, wake: Arc<Notify>) {
    let cursor_path = config
        .witness_log
        .parent()
        .unwrap_or(Path::new("."))
        .join(CURSOR_FILE);
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("palisade-witness/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the witness HTTP client; external witness disabled");
            return;
        }
    };
    let mut cursor = read_cursor(&cursor_path);
    // Retry delays: doubling from `initial_backoff` up to a minute, with jitter; started afresh
    // after every success.
    let delays = || {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(config.initial_backoff)
            .with_max_delay(Duration::from_secs(60))
            .without_max_times()
            .with_jitter()
            .build()
    };
    let mut backoff = delays();
    loop {
        let lines = match pending_lines(&config.witness_log, cursor) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "reading the witness log for forwarding");
                Vec::new()
            }
        };
        if lines.is_empty() {
            // Wait for the next append, or look again after a while in case a wake-up was missed.
            let _ = tokio::time::timeout(Duration::from_secs(5), wake.notified()).await;
            continue;
        }
        let mut failed = false;
        for (line, end) in lines {
            if line.trim().is_empty() {
                cursor = end;
                continue;
            }
            let sent = http
                .post(&config.url)
                .header("content-type", "application/json")
                .body(line)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    cursor = end;
                    if let Err(e) = write_cursor(&cursor_path, cursor) {
                        tracing::warn!(error = %e, "saving the witness forwarding cursor");
                    }
                    backoff = delays();
                }
                Ok(r) => {
                    tracing::warn!(status = %r.status(), url = %config.url, "external witness refused a checkpoint; will retry");
                    failed = true;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, url = %config.url, "external witness unreachable; will retry");
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            let pause = backoff.next().unwrap_or(Duration::from_secs(60));
            tokio::time::sleep(pause).await;
        }
    }
}
