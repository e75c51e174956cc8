#!/usr/bin/env bash
# Benchmark `palisade scan secrets` against ripgrep, ripsecrets, detect-secrets and git cat-file.
#
#   bench/secrets/setup.sh            # once: builds /work/bench-secrets/{tree,history}
#   cargo build --release -p palisade
#   bench/secrets/run.sh [BENCH_DIR] [PALISADE_BIN]
#
# Needs: rg (apt ripgrep), hyperfine (apt), ripsecrets (cargo install ripsecrets), detect-secrets
# (pip), GNU time. Every command runs on a warm page cache (hyperfine's warm-up runs). Times are
# hyperfine means over RUNS runs (fewer for the slow tools); peak RSS comes from one more run
# under /usr/bin/time. ripsecrets and detect-secrets are far slower, so they (and palisade, for a
# like-for-like ratio) also run on SUBSET, one repository of the tree. The machine is noisy:
# compare ratios within one run, and run it when nothing else is building.
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

RUNS=${RUNS:-5}
measure() { # name, runs, command...
  local name=$1 runs=$2; shift 2
  local j t; j=$(mktemp); t=$(mktemp)
  local warm=1; [ "$runs" -le 2 ] && warm=0
  hyperfine -N -i --warmup "$warm" --runs "$runs" --export-json "$j" -- "$(printf '%q ' "$@")" > /dev/null 2>&1
  /usr/bin/time -f '%M' -o "$t" "$@" > /dev/null 2>&1
  python3 - "$j" "$(tail -1 "$t")" "$name" "$runs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| {sys.argv[3]} | {r['mean']:.3f} ± {r['stddev'] or 0:.3f} | {sys.argv[4]} | {int(sys.argv[2]) // 1024} |")
PY
  rm -f "$j" "$t"
}

echo "tree: $(du -sb "$TREE" | awk '{printf "%.2f GB", $1/1e9}'), $(find "$TREE" -type f | wc -l) files; keywords: $(wc -l < "$KW")"
echo "subset: $SUBSET, $(du -sb "$SUBSET" | awk '{printf "%.1f MB", $1/1e6}')"
echo "history: $(git --git-dir="$HIST" rev-list --all --count) commits, $(git --git-dir="$HIST" count-objects -v | awk '/in-pack/ {print $2}') objects"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo
echo "| tree: command | mean s ± σ | runs | peak RSS MiB |"
echo "|---|---:|---:|---:|"
measure "rg -c zqxjkvw (walk + read)" "$RUNS" rg -c zqxjkvw "$TREE"
measure "rg -c -i -F -f keywords (keyword union)" "$RUNS" rg -c -i -F -f "$KW" "$TREE"
measure "palisade scan secrets ($(python3 -c "import tomllib,sys; print(len(tomllib.load(open(sys.argv[1],'rb'))['rules']))" "$RULES") rules)" "$RUNS" "$PALISADE" scan secrets "$TREE" --format json
echo
echo "| subset: command | mean s ± σ | runs | peak RSS MiB |"
echo "|---|---:|---:|---:|"
measure "rg -c -i -F -f keywords" $((RUNS * 4)) rg -c -i -F -f "$KW" "$SUBSET"
measure "palisade scan secrets" $((RUNS * 4)) "$PALISADE" scan secrets "$SUBSET" --format json
measure "ripsecrets" "$RUNS" ripsecrets "$SUBSET"
# detect-secrets must run from inside the directory: given a path outside the current
# directory it reports nothing (checked: 0 results on leaky-repo that way, 24 from inside).
measure "detect-secrets scan --all-files" 2 bash -c "cd '$SUBSET' && detect-secrets scan --all-files ."
echo
echo "| history: command | mean s ± σ | runs | peak RSS MiB |"
echo "|---|---:|---:|---:|"
measure "git cat-file --batch-all-objects --batch" 3 git --git-dir="$HIST" cat-file --batch-all-objects --batch
measure "palisade scan secrets --git" 3 "$PALISADE" scan secrets --git "$HIST" --format json
rm -f "$KW"
