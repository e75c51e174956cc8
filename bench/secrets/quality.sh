#!/usr/bin/env bash
# How many findings a developer is shown on real code, before and after issue 18's rules, and
# whether any secret in the secret scanners' own fixtures was lost on the way.
#
#   bench/secrets/setup.sh                    # once: the benchmark tree
#   cargo build --release -p palisade
#   bench/secrets/quality.sh [BENCH_DIR] [PALISADE_BIN]
#
# Three groups of HEAD trees, all extracted from bare mirrors under /work/.mirror (the session's
# `fetch` tool), none committed:
#   - the benchmark tree ($BENCH_DIR/tree: 9 public projects + the cargo registry sources);
#   - repositories outside the benchmark ($BENCH_DIR/outside: CTFd, juice-shop, dispatch, flask,
#     gin, express, petclinic);
#   - the two secret scanners whose fixtures are secrets on purpose ($BENCH_DIR/scanners:
#     gitleaks, trufflehog).
# "Before" is the rules file as it was before issue 18 (git $BEFORE, the first parent of the
# merge that brought the new rules), run by the same binary with `--no-builtin-rules --config`,
# every finding counted, as that version reported them. "After" is the built-in rules, counted
# at the default view and with `--all`.
set -euo pipefail
BENCH_DIR=${1:-/work/bench-secrets}
PALISADE=${2:-${CARGO_TARGET_DIR:-target}/release/palisade}
MIRRORS=${MIRRORS:-/work/.mirror}
BEFORE=${BEFORE:-795674e^1}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

OUTSIDE="CTFd+CTFd juice-shop+juice-shop Netflix+dispatch pallets+flask gin-gonic+gin expressjs+express spring-projects+spring-petclinic"
SCANNERS="gitleaks+gitleaks trufflesecurity+trufflehog"
for group in outside scanners; do
  list=$OUTSIDE; [ $group = scanners ] && list=$SCANNERS
  for r in $list; do
    [ -d "$BENCH_DIR/$group/$r" ] && continue
    mkdir -p "$BENCH_DIR/$group/$r"
    python3 "$HERE/extract_tree.py" "$MIRRORS/$r/repo" "$BENCH_DIR/$group/$r" >&2
  done
done

old_rules="$OUT/before.toml"
git -C "$HERE" show "$BEFORE:crates/palisade-secrets/rules/builtin.toml" > "$old_rules"

scan() { # out-name, dir, args...
  local name=$1 dir=$2; shift 2
  # Exit 1 means findings; 2 means an error worth seeing.
  "$PALISADE" scan secrets --no-progress --format json "$@" "$dir" > "$OUT/$name.json" || [ $? -eq 1 ]
}

count() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$1"; }

echo "| group | repository | before (every finding) | after, default view | after, --all |"
echo "|---|---|---:|---:|---:|"
for group in tree outside scanners; do
  for dir in "$BENCH_DIR/$group"/*/; do
    r=$(basename "$dir")
    scan "$group.$r.before" "$dir" --all --no-builtin-rules --config "$old_rules"
    scan "$group.$r.default" "$dir"
    scan "$group.$r.all" "$dir" --all
    echo "| $group | $r | $(count "$OUT/$group.$r.before.json") | $(count "$OUT/$group.$r.default.json") | $(count "$OUT/$group.$r.all.json") |"
  done
done

# Totals per group, and in the scanners' trees the lines "before" found that "--all" no longer
# finds at all (any rule): each one must be a non-secret, or the target is missed.
python3 - "$OUT" <<'PY'
import json, glob, os, sys
out = sys.argv[1]
def load(p):
    return json.load(open(p))["findings"]
tot = {}
for p in glob.glob(os.path.join(out, "*.json")):
    group, repo, view = os.path.basename(p)[:-5].split(".", 2)
    tot.setdefault(group, {}).setdefault(view, 0)
    tot[group][view] += len(load(p))
print()
print("| group | before | after, default | cut | after, --all |")
print("|---|---:|---:|---:|---:|")
for g in ("tree", "outside", "scanners"):
    t = tot.get(g, {})
    b, d, a = t.get("before", 0), t.get("default", 0), t.get("all", 0)
    cut = f"{100 * (b - d) / b:.1f} %" if b else "-"
    print(f"| {g} | {b} | {d} | {cut} | {a} |")
print()
print("Lines found before but by no rule with --all, in the secret scanners' trees:")
for p in sorted(glob.glob(os.path.join(out, "scanners.*.before.json"))):
    after = {(f["path"], f["line"]) for f in load(p.replace(".before.", ".all."))}
    for f in load(p):
        if (f["path"], f["line"]) not in after:
            print(f"  {f['path']}:{f['line']} [{f['rule_id']}] {f['secret'][:60]!r}")
PY
echo "(reports kept in $OUT)"
