#!/usr/bin/env bash
# Conformance with the real Prometheus Alertmanager (Debian's prometheus-alertmanager): both of
# its receivers pointed at a live `palisade serve`, unchanged — `pagerduty_configs` (the Events
# API v2) and `webhook_configs` (version 4 payloads, one Palisade alert per Alertmanager alert).
# Two alerts that share a summary fire, then resolve; Palisade must open three alerts (two by
# fingerprint, one per group from the PagerDuty receiver) and resolve all three.
#
# Usage: .ci/alertmanager.sh   (PALISADE_BIN: the binary to test; built when unset)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus-alertmanager >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq prometheus-alertmanager) >/dev/null
fi
if [ -n "${PALISADE_BIN:-}" ]; then
  bin="$PALISADE_BIN"
else
  cargo build -p palisade --locked -q
  bin="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/palisade"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Request lines at info: the script waits on Palisade's answers to Alertmanager in this log.
# The log files exist before the server starts: the background shell that opens them may run
# after the `tail` below does (it failed so under load: "cannot open serve.out").
: >"$work/serve.out"
: >"$work/serve.err"
env -u PALISADE_DATABASE_URL -u PALISADE_NOTIFY_URL -u PALISADE_WITNESS_URL NO_COLOR=1 \
  PALISADE_LOG='warn,tower_http=info,palisade_server=info' \
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.err" &
pids+=($!)
timeout 120 grep -q -m1 'export PALISADE_TOKEN=' <(tail -n +1 --pid="${pids[0]}" -f "$work/serve.out")
url=$(sed -n 's/.*serving at \(http[^ ]*\).*/\1/p' "$work/serve.out" | head -1)
token=$(sed -n 's/^ *export PALISADE_TOKEN=//p' "$work/serve.out" | head -1)
api() { curl -fsS -X "$1" "$url/api/v1$2" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+--data "$3"}; }
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
api POST /services '{"name": "web"}' >/dev/null
pd_key=$(api POST /services/web/integrations '{"name": "am-pagerduty"}' | field routing_key)
wh_key=$(api POST /services/web/integrations '{"name": "am-webhook", "kind": "alertmanager_alert"}' | field routing_key)

am_port=$(free_port)
cat >"$work/alertmanager.yml" <<EOF
route:
  receiver: palisade
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: palisade
    pagerduty_configs:
      - routing_key: $pd_key
        url: $url/v2/enqueue
        send_resolved: true
    webhook_configs:
      - url: $url/v1/alertmanager/$wh_key
        send_resolved: true
EOF
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$work/am.log" 2>&1 &
pids+=($!)
curl -fs --retry 100 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
  "http://127.0.0.1:$am_port/-/ready" >/dev/null

post_alerts() { # ENDS_AT (empty: firing)
  local now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  python3 - "$now" "${1:-}" <<'PY' | curl -fsS -X POST -H 'Content-Type: application/json' --data @- "http://127.0.0.1:$AM_PORT/api/v2/alerts" >/dev/null
import json, sys
now, ends = sys.argv[1], sys.argv[2]
alerts = []
for host in ["web-1:9100", "web-2:9100"]:
    a = {"labels": {"alertname": "DiskFull", "instance": host, "severity": "critical"},
         "annotations": {"summary": "Disk almost full"}, "startsAt": now}
    if ends:
        a["endsAt"] = ends
    alerts.append(a)
print(json.dumps(alerts))
PY
}
export AM_PORT=$am_port

# Wait (up to 60 s) until Palisade has answered COUNT of Alertmanager's notifications in all
# (each receiver sends one per group change), read from its request log as they are written.
answered() { # COUNT
  # (Into a file: with -q, or output to /dev/null, GNU grep ends at the first match whatever
  # -m says.)
  if ! timeout 60 grep -m"$1" -E 'path=/(v2/enqueue|v1/alertmanager/[^ ]*).*finished processing request.*status=2' \
      <(tail -n +1 --pid="${pids[0]}" -f "$work/serve.err") >"$work/answered"; then
    echo "Palisade answered fewer than $1 notifications in 60 s" >&2
    cat "$work/am.log" >&2
    exit 1
  fi
}
# Palisade's alerts of the service in STATUS number COUNT.
expect() { # STATUS COUNT
  n=$(api GET "/alerts?service=web&status=$1" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["alerts"]))')
  if [ "$n" != "$2" ]; then
    echo "Palisade has $n $1 alerts, expected $2" >&2
    api GET "/alerts?service=web" >&2
    grep -v ' path=/api/v1' "$work/serve.err" >&2
    exit 1
  fi
}

post_alerts
answered 2 # the firing group through each receiver
expect triggered 3
echo "== Alertmanager fired two alerts: Palisade opened 3 (2 by fingerprint, 1 per group)"
post_alerts "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
answered 4 # and its resolution through each
expect resolved 3
expect triggered 0
echo "== Alertmanager resolved them: Palisade resolved all 3"
