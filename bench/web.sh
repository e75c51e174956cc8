#!/usr/bin/env bash
# The web UI's incident page at 10,000 incidents / 1,000,000 events: server time (p50/p90/p99/max
# as a client on loopback sees it, one client and eight concurrent ones), the incident list's,
# and the page weight (HTML + the stylesheet and script it references, uncompressed).
#
# Prerequisites: a Rust toolchain (the workspace builds in release, about 10 minutes cold on
# 2 cores); about 3 GB free for the SQLite data set (under $TMPDIR, or --data-dir); for
# PostgreSQL, a database the URL can create a schema in (trust auth or a password in the URL).
# Seeding the full size takes minutes: every one of the 1,000,000 events is a durable, signed
# append through the application's pipeline, as an API call makes it.
#
#   bench/web.sh                                        # SQLite, 10,000 incidents, 1,000,000 events
#   bench/web.sh --incidents 1000 --events 100000       # smaller
#   PALISADE_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bench/web.sh
#                                                       # PostgreSQL (a new schema, dropped after)
#   bench/web.sh --data-dir /tmp/web-bench              # keep the data set; a second run with the
#                                                       # same directory measures without seeding
#   bench/web.sh --requests 2000 --clients 8 --list-requests 200 --concurrency 64
#
# The program is crates/palisade-server/benches/web_page.rs (its header says what is measured).
# Arguments are passed through to it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p palisade-server --bench web_page --no-run -q
target=${CARGO_TARGET_DIR:-target}
BIN=$(ls -t "$target"/release/deps/web_page-* | grep -v '\.d$' | head -1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r), $(grep MemTotal /proc/meminfo | tr -s ' '); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
exec "$BIN" "$@"
