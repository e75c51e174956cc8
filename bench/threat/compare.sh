#!/usr/bin/env bash
# Palisade's threat analysis side by side with OWASP pytm's: threats per STRIDE category on the
# same web shop, the kinds of threat only one of them raises, and the time of each on a generated
# model of 200 elements. compare.py says what is compared and how pytm's threats are given STRIDE
# categories.
#
#   bench/threat/compare.sh [--runs N] [--out DIR]
#
# Builds the `threats` example of palisade-threat in release (it prints the analysis with the
# built-in rules as JSON; the `palisade threat` command is built separately), installs pytm from
# PyPI into a virtualenv at $BENCH_VENV when it is missing there, and runs compare.py with the
# arguments given. The machine may be shared: compare the two within one run, and note the load
# average printed first.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."
BENCH_VENV=${BENCH_VENV:-$HOME/.cache/palisade-bench-threat/venv}
if ! "$BENCH_VENV/bin/python" -c 'import pytm' 2> /dev/null; then
  python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/pip" install -q pytm
fi
cargo build -q --release -p palisade-threat --example threats
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/threats
echo "commit: $(git rev-parse --short HEAD 2> /dev/null || echo '?')$(git diff --quiet 2> /dev/null || echo ' (with local changes)')"
exec "$BENCH_VENV/bin/python" "$HERE/compare.py" --palisade "$BIN" --python "$BENCH_VENV/bin/python" "$@"
