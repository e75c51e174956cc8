#!/usr/bin/env bash
# Evidence upload and download throughput and peak memory, beside `sha256sum` + `cp` of the same
# file in the same run (the practical limit: both hash every byte and write every byte once).
#
#   bench/evidence.sh [SIZE_MIB] [RUNS]        (defaults: 1024 MiB, 3 runs)
#
# Needs a release build (cargo build --release -p palisade) and GNU time (/usr/bin/time).
# Prints one line per measurement and a summary with MB/s (10^6 bytes per second) and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${1:-1024}
RUNS=${2:-3}
BIN=${PALISADE_BIN:-target/release/palisade}
[ -x "$BIN" ] || { echo "build first: cargo build --release -p palisade" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d "${BENCH_TMP:-/tmp}/palisade-evidence-bench.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "# file: ${SIZE_MIB} MiB of random data in $work ($(df -h "$work" | awk 'NR==2 {print $1}'))"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$work/evidence.img"
bytes=$(stat -c %s "$work/evidence.img")
sha=$(sha256sum "$work/evidence.img" | cut -d' ' -f1)

# Server on a fresh data directory, on the same disk.
PALISADE_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$work/data" > "$work/serve.log" 2>&1 &
server_pid=$!
# Wait for the banner itself (first start prints the token last).
timeout 30 grep -q -m1 PALISADE_TOKEN <(tail -n +1 -f --pid="$server_pid" "$work/serve.log")
export PALISADE_URL=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
export PALISADE_TOKEN=$(grep -o 'pal_[A-Za-z0-9_-]*' "$work/serve.log" | head -1)
export PALISADE_CONFIG=/nonexistent
code=$("$BIN" incident declare --title "evidence benchmark" --severity SEV-3 --commander admin --format json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["codename"])')

secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.3f}')" "$1"; }
mbps() { python3 -c "import sys; print(f'{int(sys.argv[1])/float(sys.argv[2])/1e6:.0f}')" "$bytes" "$1"; }
timed() { # timed OUT_VAR_PREFIX command… → sets ${prefix}_s and ${prefix}_kb
  local prefix=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
  read -r t kb < "$work/time"
  printf -v "${prefix}_s" '%s' "$t"
  printf -v "${prefix}_kb" '%s' "$kb"
}

sync
for run in $(seq "$RUNS"); do
  rm -f "$work/copy.img" "$work/down.img"
  # Reference: hash, then copy (and flush) — what storing evidence minimally costs.
  start=$(date +%s.%N)
  sha256sum "$work/evidence.img" > /dev/null
  cp "$work/evidence.img" "$work/copy.img"
  sync -f "$work/copy.img"
  ref=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")

  timed up "$BIN" evidence add "$code" "$work/evidence.img" --source bench --tool head --sha256 "$sha" --name "run$run.img"
  n=$("$BIN" evidence list "$code" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["evidence"]))')
  timed down "$BIN" evidence get "$code/E$n" -o "$work/down.img" --purpose benchmark
  cmp -s "$work/evidence.img" "$work/down.img" || { echo "download differs!" >&2; exit 1; }
  server_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  echo "run $run: sha256sum+cp $(secs "$ref") s ($(mbps "$ref") MB/s) | upload $(secs "$up_s") s ($(mbps "$up_s") MB/s, client peak $((up_kb / 1024)) MiB) | download $(secs "$down_s") s ($(mbps "$down_s") MB/s, client peak $((down_kb / 1024)) MiB) | server peak RSS so far $((server_kb / 1024)) MiB"
done
