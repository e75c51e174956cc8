#!/usr/bin/env python3
"""Compare what `palisade scan config`, hadolint and checkov report on the same files.

    compare.py OUT_DIR

reads OUT_DIR/palisade.json (palisade --format json), OUT_DIR/hadolint.json (hadolint -f json)
and OUT_DIR/checkov.json (checkov -o json) and prints Markdown: per rule of ours, how many
findings we report and how many the related checks of the other tools report (the `related`
ids of crates/palisade-config/rules/rules.toml); then the other tools' checks with no rule of
ours; then per file, the ids each tool reported.
"""
import collections
import json
import os
import sys
import tomllib

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
rules = tomllib.load(open(os.path.join(here, "../../crates/palisade-config/rules/rules.toml"), "rb"))["rule"]


def norm(path):
    return path.lstrip("/").removeprefix("./")


ours = collections.defaultdict(collections.Counter)  # file -> rule -> count
for f in json.load(open(os.path.join(out, "palisade.json")))["findings"]:
    if not f["suppressed"]:
        ours[norm(f["path"])][f["rule_id"]] += 1

theirs = collections.defaultdict(collections.Counter)  # file -> id -> count
hadolint = json.load(open(os.path.join(out, "hadolint.json")))
for f in hadolint:
    theirs[norm(f["file"])][f["code"]] += 1
checkov = json.load(open(os.path.join(out, "checkov.json")))
if isinstance(checkov, dict):
    checkov = [checkov]
for report in checkov:
    if not isinstance(report, dict) or "results" not in report:
        continue
    for c in report["results"]["failed_checks"]:
        theirs[norm(c["file_path"])][c["check_id"]] += 1

total_ours = collections.Counter()
for c in ours.values():
    total_ours.update(c)
total_theirs = collections.Counter()
for c in theirs.values():
    total_theirs.update(c)

print("| our rule | ours | related checks (their count) |")
print("|---|---:|---|")
mapped = set()
for r in rules:
    rel = [x for x in r.get("related", []) if not x.startswith("kube-linter:")]
    mapped.update(rel)
    cells = ", ".join(f"{x} ({total_theirs.get(x, 0)})" for x in rel) or "—"
    print(f"| {r['id']} | {total_ours.get(r['id'], 0)} | {cells} |")

print()
print("Their checks with no related rule of ours:")
print()
print("| check | count |")
print("|---|---:|")
for k, n in sorted(total_theirs.items()):
    if k not in mapped:
        print(f"| {k} | {n} |")

print()
print("| file | palisade | hadolint + checkov |")
print("|---|---|---|")
for path in sorted(set(ours) | set(theirs)):
    fmt = lambda c: ", ".join(f"{k}×{n}" if n > 1 else k for k, n in sorted(c.items())) or "—"
    print(f"| {path} | {fmt(ours.get(path, {}))} | {fmt(theirs.get(path, {}))} |")
print()
print(f"totals: palisade {sum(total_ours.values())} findings in {len(total_ours)} rules; "
      f"hadolint {len(hadolint)} findings; "
      f"checkov {sum(v for k, v in total_theirs.items() if k.startswith('CKV'))} failed checks")
