#!/usr/bin/env bash
# Alerts through the Events API (`POST /v2/enqueue`), durable before 202: sustained alerts/s at
# full speed, then p50/p99 at a fixed 5,000/s (open loop), then trigger-to-page latency at
# 100 new alerts/s (each paging the admin through the escalation policy, delivered to the load
# generator's webhook receiver), on SQLite and, with PG set, on PostgreSQL; the server's resident
# memory before and after each run.
#
#   bench/alerts.sh                                        # SQLite, fresh data directory
#   PG=postgres://postgres@127.0.0.1:5432/test bench/alerts.sh   # also PostgreSQL (a new schema)
#   SECONDS_MAX=20 SECONDS_RATE=30 RATE=5000 CONNECTIONS=64 bench/alerts.sh
#   SECONDS_RATE=600 bench/alerts.sh                       # the 10-minute memory run
#   SAMPLE=10 …                      # the server's RSS and threads every 10 s of the open-loop run
#   BINS="old=/tmp/palisade-old new=target/release/palisade" bench/alerts.sh   # side by side
#
# The load generator is crates/palisade-server/benches/intake.rs (open loop: latency counted
# from each request's scheduled time). Builds the release binary and the generator.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_MAX=${SECONDS_MAX:-20}
SECONDS_RATE=${SECONDS_RATE:-30}
RATE=${RATE:-5000}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-7981}
HOOK_PORT=${HOOK_PORT:-7982}
PAGE_RATE=${PAGE_RATE:-100}
SECONDS_PAGES=${SECONDS_PAGES:-20}
SAMPLE=${SAMPLE:-30}
# BINS="old=/path/a new=/path/b": each backend run once per binary, one after the other in the
# same run (a same-run comparison); default: the binary built from this checkout.
if [ -z "${BINS:-}" ]; then
  cargo build --release -p palisade -q
  BINS="this=target/release/palisade"
fi
cargo bench -p palisade-server --bench intake --no-run -q 2>/dev/null
GEN=$(ls -t target/release/deps/intake-* | grep -v '\.d$' | head -1)
echo "machine: $(nproc) cores, $(uname -r), $(grep MemTotal /proc/meminfo | tr -s ' '); load $(cut -d' ' -f1-3 /proc/loadavg)"

rss() { grep VmRSS "/proc/$1/status" | tr -s ' ' | cut -d' ' -f2; }

run_backend() { # NAME [DATABASE_URL]
  local name=$1 url=${2:-}
  local data; data=$(mktemp -d)
  # No per-key rate limit: this measures the server, not the limiter.
  printf '[alerts]\nevents_per_key_per_minute = 0\n' > "$data/palisade.toml"
  local db=()
  [ -n "$url" ] && db=(--database-url "$url")
  PALISADE_NOTIFY_URL="http://127.0.0.1:$HOOK_PORT/hook" PALISADE_NOTIFY_SECRET=bench \
    "$BIN" serve --data-dir "$data" "${db[@]}" --listen "127.0.0.1:$PORT" >"$data/serve.out" 2>/dev/null &
  local server=$!
  trap 'kill $server 2>/dev/null || true' RETURN
  timeout 60 grep -q -m1 'export PALISADE_TOKEN=' <(tail -n +1 --pid=$server -f "$data/serve.out")
  local token; token=$(sed -n 's/^ *export PALISADE_TOKEN=//p' "$data/serve.out")
  local api="http://127.0.0.1:$PORT/api/v1"
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"bench-svc"}' "$api/services"
  local key; key=$(curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"load"}' "$api/services/bench-svc/integrations" | python3 -c 'import json,sys; print(json.load(sys.stdin)["routing_key"])')
  # A second service whose alerts page the admin (no contact methods of their own: the
  # deployment's webhook, which is the generator's receiver in the paging run). The load runs
  # use the first service, which has no policy: each alert still takes its escalation step
  # (recording that nobody was paged), so the work per alert is the same but for the page.
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"paged-svc"}' "$api/services"
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"bench","levels":[{"delay_minutes":30,"targets":[{"type":"user","name":"admin"}]}]}' "$api/escalation-policies"
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"policy":"bench"}' "$api/services/paged-svc/escalation-policy"
  local paged_key; paged_key=$(curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"load"}' "$api/services/paged-svc/integrations" | python3 -c 'import json,sys; print(json.load(sys.stdin)["routing_key"])')
  echo "== $name: trigger-to-page at $PAGE_RATE new alerts/s, ${SECONDS_PAGES}s (first, on the quiet server)"
  "$GEN" --url "http://127.0.0.1:$PORT" --key "$paged_key" --rate "$PAGE_RATE" --seconds "$SECONDS_PAGES" --pages "$HOOK_PORT"
  echo "   server /metrics: $(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/metrics" | grep -E '^palisade_alert_first_page_seconds_(count|sum)' | tr '\n' ' ')"
  echo "== $name: full speed, $CONNECTIONS connections, ${SECONDS_MAX}s (100,000 distinct keys: new alerts, then deduplications)"
  local before; before=$(rss $server)
  "$GEN" --url "http://127.0.0.1:$PORT" --key "$key" --rate 0 --seconds "$SECONDS_MAX" --connections "$CONNECTIONS"
  echo "   server RSS: ${before} kB before, $(rss $server) kB after"
  echo "== $name: open loop at $RATE/s, ${SECONDS_RATE}s"
  before=$(rss $server)
  # The server's RSS (MB) and threads every SAMPLE seconds of the run, to see a trend, not two ends.
  ( while kill -0 $server 2>/dev/null; do
      echo "$(( $(rss $server) / 1024 ))/$(ls /proc/$server/task | wc -l)"; sleep "$SAMPLE"
    done > "$data/samples" ) &
  local sampler=$!
  "$GEN" --url "http://127.0.0.1:$PORT" --key "$key" --rate "$RATE" --seconds "$SECONDS_RATE" --connections "$CONNECTIONS"
  kill $sampler 2>/dev/null || true; wait $sampler 2>/dev/null || true
  echo "   server RSS: ${before} kB before, $(rss $server) kB after"
  echo "   server RSS MB/threads every ${SAMPLE}s: $(tr '\n' ' ' < "$data/samples")"
  kill $server; wait $server 2>/dev/null || true
  rm -rf "$data"
}

for pair in $BINS; do
  label=${pair%%=*}
  BIN=${pair#*=}
  echo "#### binary: $label ($BIN)"
  run_backend "sqlite [$label]"
  if [ -n "${PG:-}" ]; then
    schema="bench_$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
    psql "$PG" -qc "CREATE SCHEMA $schema"
    sep='?'; case "$PG" in *\?*) sep='&';; esac
    run_backend "postgres [$label]" "${PG}${sep}options=-c%20search_path%3D$schema"
  fi
done
