#!/usr/bin/env bash
# p50/p99 latency of `show` and `list` over loopback with wrk, on a data set of
# 10,000 incidents / 1,000,000 events (built by the ledger benchmark's `dataset` mode).
#
#   bench/api-latency.sh [DATA_DIR]      # default /tmp/palisade-bench-data
#   PG=postgres://postgres@127.0.0.1:5432/test bench/api-latency.sh /tmp/palisade-bench-pg
#                                        # the ledger in PostgreSQL (a new bench_… schema)
#
# Needs: wrk (apt-get install wrk). Builds the release binary. The data set is reused if present.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/palisade-bench-data}
PORT=${PORT:-7979}
DURATION=${DURATION:-20s}
if [ ! -f "$DATA/bench-token" ]; then
  cargo bench -p palisade-store --bench ledger -- dataset "$DATA" --incidents 10000 --events-per 100 \
    ${PG:+--pg "$PG"}
fi
# A data set built with --pg names its database (a schema of its own) in DATA/database-url.
DB_ARGS=(); BACKEND=sqlite
if [ -f "$DATA/database-url" ]; then DB_ARGS=(--database-url "$(cat "$DATA/database-url")"); BACKEND=postgres; fi
cargo build --release -p palisade
TOKEN=$(cat "$DATA/bench-token")
target/release/palisade serve --data-dir "$DATA" "${DB_ARGS[@]}" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
# A restricted incident of the data set (not one a previous run of this script declared).
CODENAME=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/incidents?limit=100" | python3 -c 'import json,sys; print(next(i["codename"] for i in json.load(sys.stdin)["incidents"] if i["restricted"]))')
# An open (unrestricted) incident with 100 events as well: reads of restricted incidents are
# recorded in their ledger (a durable append each), reads of open ones are not.
OPEN=$(curl -fs -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"title":"open incident for the latency benchmark","severity":"SEV-3","kind":"operational"}' \
  "http://127.0.0.1:$PORT/api/v1/incidents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["codename"])')
for i in $(seq 99); do
  curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"text\":\"note $i\"}" "http://127.0.0.1:$PORT/api/v1/incidents/$OPEN/notes"
done
echo "machine: $(nproc) cores, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); data: $DATA; backend: $BACKEND"
for what in "show /api/v1/incidents/$CODENAME" "show-open /api/v1/incidents/$OPEN" "list /api/v1/incidents" "list-filtered /api/v1/incidents?status=declared&severity=SEV-2&limit=20"; do
  name=${what%% *}; path=${what#* }
  echo "== $name ($path), wrk -t1 -c${CONNECTIONS:-4} -d$DURATION"
  wrk -t1 -c"${CONNECTIONS:-4}" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" \
    | grep -E "Latency Distribution|50%|75%|90%|99%|Requests/sec|requests in"
done
