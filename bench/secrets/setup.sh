#!/usr/bin/env bash
# Build the benchmark inputs for `palisade scan secrets` (not committed; several GB).
#
#   bench/secrets/setup.sh [BENCH_DIR]     (default /work/bench-secrets)
#
# Needs bare mirrors of public repositories (brought with the session's `fetch` tool, under
# /work/.mirror/OWNER+NAME/repo) and the local cargo registry source cache. Produces:
#   $BENCH_DIR/tree/      >= 1 GB of real source: HEAD working trees of the mirrors + ~/.cargo/registry/src
#   $BENCH_DIR/history    a symlink to the bare redis/redis mirror (39,736 commits over all refs; >= 10,000)
set -euo pipefail
BENCH_DIR=${1:-/work/bench-secrets}
MIRRORS=${MIRRORS:-/work/.mirror}
REPOS="git+git rails+rails spring-projects+spring-framework moby+moby hashicorp+terraform duckdb+duckdb apache+kafka prometheus+prometheus redis+redis"
mkdir -p "$BENCH_DIR/tree"
for r in $REPOS; do
  dest="$BENCH_DIR/tree/$r"
  [ -d "$dest" ] && continue
  mkdir -p "$dest"
  python3 "$(dirname "$0")/extract_tree.py" "$MIRRORS/$r/repo" "$dest"
done
if [ ! -d "$BENCH_DIR/tree/cargo-registry-src" ]; then
  cp -r "${CARGO_HOME:-$HOME/.cargo}/registry/src" "$BENCH_DIR/tree/cargo-registry-src"
fi
ln -sfn "$MIRRORS/${HISTORY_REPO:-redis+redis}/repo" "$BENCH_DIR/history"
du -sb "$BENCH_DIR/tree" | awk '{printf "tree: %.2f GB\n", $1/1e9}'
find "$BENCH_DIR/tree" -type f | wc -l | awk '{print "files:", $1}'
echo "history: $(git --git-dir="$BENCH_DIR/history" rev-list --all --count) commits"
