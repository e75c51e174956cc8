#!/usr/bin/env bash
# Benchmark `palisade scan secrets` against ripgrep, ripsecrets, detect-secrets and git cat-file.
#
#   bench/secrets/setup.sh            # once: builds /work/bench-secrets/{tree,history}
#   cargo build --release -p palisade
#   bench/secrets/run.sh [BENCH_DIR] [PALISADE_BIN]
#
# Needs: rg (apt ripgrep), ripsecrets (cargo install ripsecrets), detect-secrets (pip), GNU time.
# Every command runs on a warm page cache (a discarded warm-up pass first). Wall time and peak RSS
# come from /usr/bin/time. ripsecrets and detect-secrets are far slower, so they (and palisade,
# for a like-for-like ratio) also run on SUBSET, one repository of the tree.
set -uo pipefail
BENCH_DIR=${1:-/work/bench-secrets}
PALISADE=${2:-${CARGO_TARGET_DIR:-target}/release/palisade}
TREE="$BENCH_DIR/tree"
HIST="$BENCH_DIR/history"
SUBSET=${SUBSET:-$TREE/hashicorp+terraform}
HERE=$(cd "$(dirname "$0")" && pwd)
RULES="$HERE/../../crates/palisade-secrets/rules/builtin.toml"
KW=$(mktemp)
python3 -c "import sys,tomllib; d=tomllib.load(open(sys.argv[1],'rb')); print('\n'.join(sorted({k for r in d['rules'] for k in r.get('keywords',[])})))" "$RULES" > "$KW"

measure() { # name, command...
  local name=$1; shift
  local t; t=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$t" "$@" > /dev/null 2>&1
  read -r secs kb < <(tail -1 "$t")
  printf '| %s | %s | %d |\n' "$name" "$secs" "$((kb / 1024))"
  rm -f "$t"
}

echo "tree: $(du -sb "$TREE" | awk '{printf "%.2f GB", $1/1e9}'), $(find "$TREE" -type f | wc -l) files; keywords: $(wc -l < "$KW")"
echo "subset: $SUBSET, $(du -sb "$SUBSET" | awk '{printf "%.1f MB", $1/1e6}')"
echo "history: $(git --git-dir="$HIST" rev-list --all --count) commits, $(git --git-dir="$HIST" count-objects -v | awk '/in-pack/ {print $2}') objects"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo
rg -c zqxjkvw "$TREE" > /dev/null 2>&1 # warm the cache
"$PALISADE" scan secrets "$TREE" --format json > /dev/null 2>&1
echo "| tree: command | seconds | peak RSS MiB |"
echo "|---|---:|---:|"
measure "rg -c zqxjkvw (walk + read)" rg -c zqxjkvw "$TREE"
measure "rg -c -i -F -f keywords (keyword union)" rg -c -i -F -f "$KW" "$TREE"
measure "palisade scan secrets (175 rules)" "$PALISADE" scan secrets "$TREE" --format json
echo
echo "| subset: command | seconds | peak RSS MiB |"
echo "|---|---:|---:|"
measure "rg -c -i -F -f keywords" rg -c -i -F -f "$KW" "$SUBSET"
measure "palisade scan secrets" "$PALISADE" scan secrets "$SUBSET" --format json
measure "ripsecrets" ripsecrets "$SUBSET"
# detect-secrets must run from inside the directory: given a path outside the current
# directory it reports nothing (checked: 0 results on leaky-repo that way, 24 from inside).
measure "detect-secrets scan --all-files" bash -c "cd '$SUBSET' && detect-secrets scan --all-files ."
echo
git --git-dir="$HIST" cat-file --batch-all-objects --batch > /dev/null 2>&1 # warm
echo "| history: command | seconds | peak RSS MiB |"
echo "|---|---:|---:|"
measure "git cat-file --batch-all-objects --batch" git --git-dir="$HIST" cat-file --batch-all-objects --batch
measure "palisade scan secrets --git" "$PALISADE" scan secrets --git "$HIST" --format json
rm -f "$KW"
