#!/usr/bin/env python3
"""Compare `palisade scan deps` (shared/data/osv/PyPI, snapshot 2024-10-10) with `pip-audit`
(PyPI's live vulnerability data) on pinned requirements files.

A finding agrees when the package, version and any id/alias match. pip-audit's data is newer
than the snapshot, so findings only pip-audit reports are expected for advisories published
after 2024-10-10; the script lists them so each can be checked.

usage: compare-pip-audit.py PALISADE_BIN REQUIREMENTS...
"""
import json
import subprocess
import sys

palisade, files = sys.argv[1], sys.argv[2:]


def norm(n):
    return n.lower().replace("_", "-").replace(".", "-")


# Probe: pip-audit must see a long-known vulnerability, else its data source is unreachable and
# its empty answers would look like agreement.
import os
import tempfile
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as probe:
    probe.write("django==3.2.0\n")
out = subprocess.run(["pip-audit", "--no-deps", "--disable-pip", "-r", probe.name, "-f", "json"],
                     capture_output=True, text=True, check=False)
os.unlink(probe.name)
try:
    known = sum(len(d.get("vulns", [])) for d in json.loads(out.stdout)["dependencies"])
except (json.JSONDecodeError, KeyError):
    known = 0
if known == 0:
    print("pip-audit reports nothing for django==3.2.0: its vulnerability service is unreachable here; no comparison.")
    sys.exit(2)

for req in files:
    pa = subprocess.run(["pip-audit", "--no-deps", "--disable-pip", "-r", req, "-f", "json"],
                        capture_output=True, text=True, check=False)
    try:
        doc = json.loads(pa.stdout)
    except json.JSONDecodeError:
        print(f"{req}: pip-audit could not run: {pa.stderr.strip().splitlines()[-1]}")
        continue
    theirs = {}
    for d in doc["dependencies"]:
        for v in d.get("vulns", []):
            theirs[(norm(d["name"]), d["version"], v["id"])] = {v["id"], *v.get("aliases", [])}
    ps = subprocess.run([palisade, "scan", "deps", req, "--format", "json"], capture_output=True, text=True, check=False)
    ours = {}
    for f in json.loads(ps.stdout)["findings"]:
        ours[(norm(f["package"]), f["version"], f["id"])] = {f["id"], *f["aliases"]}
    matched_theirs = set()
    only_ours = []
    for k, ids in ours.items():
        hit = [t for t, tids in theirs.items() if t[:2] == k[:2] and ids & tids]
        if hit:
            matched_theirs.update(hit)
        else:
            only_ours.append(k)
    only_theirs = [k for k in theirs if k not in matched_theirs]
    print(f"{req}: palisade {len(ours)}, pip-audit {len(theirs)}, agreed {len(ours) - len(only_ours)}, "
          f"only palisade {len(only_ours)}, only pip-audit {len(only_theirs)}")
    for k in sorted(only_ours):
        print("  only palisade:", *k)
    for k in sorted(only_theirs):
        print("  only pip-audit:", *k)
