#!/usr/bin/env bash
# Dependency-scanning benchmarks (figures in BENCHMARKS.md, "Dependency scanning").
# Needs: a release build (cargo build --release -p palisade), hyperfine, cargo-audit
# (cargo install cargo-audit), and ../shared/data beside the workspace.
# usage: bench/deps/run.sh            (from the workspace root)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DATA=${SHARED_DATA:-$ROOT/../shared/data}
BIN=${PALISADE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/palisade}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export PALISADE_DATA_DIR=$OUT/data NO_COLOR=1

echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true; uptime
"$BIN" --version; cargo audit --version

echo "== 1. index build: all OSV data in shared/data/osv (crates.io + PyPI), from scratch"
hyperfine --warmup 1 --runs 10 --prepare "rm -rf $OUT/data" \
  "$BIN db import $DATA/osv/crates.io $DATA/osv/PyPI"
"$BIN" db status

echo "== 2. warm scans of >= 1,000-package lockfiles"
python3 bench/deps/merge-cargo-locks.py "$OUT/Cargo.lock" "$DATA"/lockfiles/cargo/*/Cargo.lock
SHRINK=$DATA/lockfiles/npm/firebase_firebase-tools/npm-shrinkwrap.json
PNPM=$DATA/lockfiles/pnpm/grafana_oncall_grafana-plugin/pnpm-lock.yaml
# -i: exit code 1 means findings, expected here.
hyperfine --warmup 3 --runs 30 -i -N \
  "$BIN scan deps $OUT/Cargo.lock --format json" \
  "$BIN scan deps $SHRINK --format json" \
  "$BIN scan deps $PNPM --format json"

echo "== 3. palisade vs cargo-audit, same Cargo.lock, same advisories (OSV export vs native)"
NP=$DATA/lockfiles/cargo/praetorian-inc_noseyparker/Cargo.lock
hyperfine --warmup 3 --runs 20 -i -N \
  "$BIN scan deps $OUT/Cargo.lock --format json" \
  "cargo audit --db $DATA/rustsec-advisory-db --no-fetch --stale --no-yanked --json -f $OUT/Cargo.lock" \
  "$BIN scan deps $NP --format json" \
  "cargo audit --db $DATA/rustsec-advisory-db --no-fetch --stale --no-yanked --json -f $NP"

echo "== 3b. the same, in instructions (callgrind; repeatable whatever else loads the machine)"
if command -v valgrind >/dev/null; then
  for cmd in "$BIN scan deps $OUT/Cargo.lock --format json" \
             "$(command -v cargo-audit) audit --db $DATA/rustsec-advisory-db --no-fetch --stale --no-yanked --json -f $OUT/Cargo.lock"; do
    { valgrind --tool=callgrind --callgrind-out-file=/dev/null $cmd 2>&1 >/dev/null || true; } \
      | grep -o 'Collected : [0-9]*' | sed "s|^|$(basename "${cmd%% *}"): |"
  done
fi

echo "== 4. correctness: findings of both tools on every shared Cargo.lock"
python3 bench/deps/compare-cargo-audit.py "$BIN" "$DATA/rustsec-advisory-db" "$DATA/lockfiles/cargo" || true
python3 - "$OUT/Cargo.lock" "$BIN" "$DATA/rustsec-advisory-db" <<'PY'
import json, subprocess, sys
lock, bin_, db = sys.argv[1:]
p = json.loads(subprocess.run([bin_, "scan", "deps", lock, "--format", "json"], capture_output=True, text=True).stdout)
c = json.loads(subprocess.run(["cargo", "audit", "--db", db, "--no-fetch", "--stale", "--no-yanked", "--json", "-f", lock], capture_output=True, text=True).stdout)
pv = {(f["package"], f["version"], f["id"]) for f in p["findings"]}
cv = {(v["package"]["name"], v["package"]["version"], v["advisory"]["id"]) for v in c["vulnerabilities"]["list"]}
pw = {(f["package"], f["version"], f["id"]) for f in p["warnings"]}
cw = {(w["package"]["name"], w["package"]["version"], w["advisory"]["id"]) for ws in (c.get("warnings") or {}).values() for w in ws if w.get("advisory")}
print(f"merged Cargo.lock: palisade {len(pv)} vulns / {len(pw)} warnings, cargo-audit {len(cv)} vulns / {len(cw)} warnings; "
      f"vuln differences {len(pv ^ cv)}, warning differences {len(pw ^ cw)}")
for x in sorted(pv ^ cv): print("  vuln diff:", x)
for x in sorted(pw ^ cw): print("  warning diff:", x)
PY

echo "== 5. PyPI: palisade vs an independent OSV evaluator on pypa's packaging (PEP 440)"
P=$DATA/lockfiles/pypi
python3 bench/deps/check-pypi-oracle.py "$BIN" "$DATA/osv/PyPI" \
  "$P/CTFd_CTFd/requirements.txt" "$P/CTFd_CTFd/uv.lock" "$P/Netflix_dispatch@4cbd96c/requirements-base.txt" \
  "$P/OWASP_pytm/poetry.lock" "$P/dfir-iris_iris-web_source/requirements.txt" "$P/grafana_oncall_engine/requirements.txt" \
  "$P/grafana_oncall_engine-requirements@62b272a/requirements.txt" "$P/ossf_osv-schema_tools-ghsa/Pipfile.lock" \
  "$P/sigstore_sigstore-python_install/requirements.txt" || true
