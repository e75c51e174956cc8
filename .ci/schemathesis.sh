#!/usr/bin/env bash
# API contract check: schemathesis (property-based tests generated from the OpenAPI document)
# against a live `palisade serve` on a free port and a fresh data directory, authenticated with
# the admin token its first start prints. Fails on any 5xx, and on any response whose status,
# content type or body the document does not describe.
#
# Usage: .ci/schemathesis.sh [EXAMPLES]   (test cases per operation and phase; default 100: about
# two minutes on two cores)
# With SCHEMATHESIS_REPORT_DIR set, JUnit and NDJSON reports (every request and response) go there.
set -euo pipefail
cd "$(dirname "$0")/.."

# The current major, pinned so a run is reproducible; bump it deliberately.
SCHEMATHESIS_VERSION=4.32.5
examples="${1:-100}"

if [ "$(schemathesis --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

# .ci/run passes the binary its test run just built (PALISADE_BIN): building `-p palisade` alone
# resolves features differently from the workspace, so it would compile and link a second copy.
if [ -n "${PALISADE_BIN:-}" ]; then
  bin="$PALISADE_BIN"
else
  cargo build -p palisade --locked -q
  bin="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/palisade"
fi
[ -x "$bin" ] || { echo "no palisade binary at $bin" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# SQLite and evidence in the fresh data directory, whatever this machine's environment says.
# The log files exist before the server starts, so the `tail` below never races their creation.
: >"$work/serve.out"
: >"$work/serve.err"
env -u PALISADE_DATABASE_URL -u PALISADE_EVIDENCE_STORE -u PALISADE_NOTIFY_URL -u PALISADE_WITNESS_URL \
  PALISADE_LOG=warn "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!

# The first start prints its URL, then the admin token (`export PALISADE_TOKEN=pal_…`): wait for
# that line itself (tail follows the file and ends if the server exits first).
if ! timeout 120 grep -q -m1 'export PALISADE_TOKEN=' <(tail -n +1 --pid="$server_pid" -f "$work/serve.out"); then
  echo "palisade serve exited or printed no admin token:" >&2
  cat "$work/serve.out" "$work/serve.err" >&2
  exit 1
fi
url=$(sed -n 's/.*serving at \(http[^ ]*\).*/\1/p' "$work/serve.out" | head -1)
token=$(sed -n 's/^ *export PALISADE_TOKEN=//p' "$work/serve.out" | head -1)
if [ -z "$url" ] || [ -z "$token" ]; then
  echo "palisade serve printed no URL or admin token:" >&2
  cat "$work/serve.out" >&2
  exit 1
fi

# Seed data, so generated requests reach real incidents, evidence, statements and services (the
# identifiers go to schemathesis as dictionaries) rather than stopping at 404.
api() { # METHOD PATH [JSON] -> the response body
  curl -fsS -X "$1" "$url/api/v1$2" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+--data "$3"}
}
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
admin=$(api GET /me | field user)
api POST /tokens '{"user": "dana", "role": "responder"}' >/dev/null
spare=$(api POST /tokens '{"user": "dana", "label": "to revoke"}' | field id)
security=$(api POST /incidents "{\"title\": \"Credential stuffing on login\", \"severity\": \"SEV-1\", \"commander\": \"$admin\"}" | field codename)
operational=$(api POST /incidents "{\"title\": \"Database latency\", \"severity\": \"SEV-3\", \"kind\": \"operational\", \"commander\": \"$admin\"}" | field codename)
printf 'failed login burst\n' | curl -fsS -X POST "$url/api/v1/incidents/$security/evidence?name=auth.log&source=web-1&tool=scp" \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' --data-binary @- >/dev/null
api POST "/incidents/$security/statements" '{"title": "Service notice", "body": "We are investigating."}' >/dev/null
api POST "/incidents/$operational/action-items" "{\"title\": \"Add an index\", \"owner\": \"$admin\"}" >/dev/null
service=$(api POST /services '{"name": "payments-api"}' | field id)

umask 077 # the configuration holds the token
cat >"$work/schemathesis.toml" <<EOF
headers = { Authorization = "Bearer $token" }

[dictionaries.incidents]
values = ["$security", "$operational"]
[dictionaries.evidence]
values = ["E1"]
[dictionaries.services]
values = ["payments-api", "$service"]
[dictionaries.users]
values = ["$admin", "dana"]
[dictionaries.tokens]
values = ["$spare"]

[parameters]
"path.incident" = { dictionary = "incidents", probability = 0.9 }
"path.evidence" = { dictionary = "evidence", probability = 0.8 }
"path.service" = { dictionary = "services", probability = 0.8 }
"body.user" = { dictionary = "users", probability = 0.6 }
"body.owner" = { dictionary = "users", probability = 0.6 }
"body.to" = { dictionary = "users", probability = 0.6 }
"body.commander" = { dictionary = "users", probability = 0.6 }
"path.id" = { dictionary = "tokens", probability = 0.5 }
EOF

report=()
if [ -n "${SCHEMATHESIS_REPORT_DIR:-}" ]; then
  report=(--report junit,ndjson --report-dir "$(realpath -m "$SCHEMATHESIS_REPORT_DIR")")
fi
# One worker: with two, hypothesis's lambda descriptions call ast.parse from two threads at once,
# which CPython 3.11.7 (this machine's) answers with "SystemError: AST constructor recursion depth
# mismatch" (CPython gh-106905, fixed in later releases), failing a run for nothing in the API.
run() { # in the temporary directory, where schemathesis keeps its cache
  (cd "$work" && schemathesis --config-file "$work/schemathesis.toml" run "$url/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$examples" --workers 1 --generation-database none \
    --phases examples,coverage,fuzzing,stateful "${report[@]}" "$@")
}
# Token revocation runs last and alone: revoking the token the run authenticates with would
# turn every later request into a 401.
run --exclude-method DELETE
run --include-method DELETE
