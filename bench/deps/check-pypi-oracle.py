#!/usr/bin/env python3
"""Check palisade's PyPI matching against an independent evaluator: the OSV range evaluation
written here in Python on pypa's `packaging` (PEP 440 as pip implements it), over the same
records (shared/data/osv/PyPI) and the packages palisade reads from each lockfile (its SBOM).

usage: check-pypi-oracle.py PALISADE_BIN OSV_PYPI_DIR LOCKFILE...
Exits 1 on any difference in (package, version, vulnerability id).
"""
import json
import pathlib
import re
import subprocess
import sys

from packaging.version import InvalidVersion, Version

palisade, osv_dir, lockfiles = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def ver(v):
    try:
        return Version(v)
    except InvalidVersion:
        return None


def in_range(v, events):
    # OSV evaluation: events sorted by version (stable), "0" first.
    keyed = []
    for e in events:
        (kind, val), = e.items()
        if kind == "limit":
            continue
        k = Version("0") if val == "0" else ver(val)
        if k is None:
            return False
        keyed.append((k, kind, val))
    keyed.sort(key=lambda t: t[0])
    affected = False
    for k, kind, val in keyed:
        if kind == "introduced" and (val == "0" or v >= k):
            affected = True
        elif kind == "fixed" and v >= k:
            affected = False
        elif kind == "last_affected" and v > k:
            affected = False
    return affected


by_name = {}
for f in osv_dir.glob("*.json"):
    rec = json.loads(f.read_text())
    if rec.get("withdrawn"):
        continue
    for a in rec.get("affected", []):
        p = a.get("package") or {}
        if p.get("ecosystem") == "PyPI":
            by_name.setdefault(norm(p["name"]), []).append((rec, a))

differences = 0
for lock in lockfiles:
    bom = json.loads(subprocess.run([palisade, "sbom", lock], capture_output=True, text=True, check=True).stdout)
    expected = set()
    for c in bom["components"]:
        name, version = norm(c["name"]), c["version"]
        v = ver(version)
        for rec, a in by_name.get(name, []):
            hit = any(v is not None and ver(x) == v for x in a.get("versions", []))
            hit = hit or (v is not None and any(r["type"] == "ECOSYSTEM" and in_range(v, r["events"]) for r in a.get("ranges", [])))
            if hit:
                expected.add((name, version, rec["id"], frozenset([rec["id"], *rec.get("aliases", [])])))
    out = json.loads(subprocess.run([palisade, "scan", "deps", lock, "--format", "json"], capture_output=True, text=True).stdout)
    got = {(norm(f["package"]), f["version"], frozenset([f["id"], *f["aliases"]])) for f in out["findings"]}
    # palisade merges aliased records into one finding: an expected record is covered when a
    # finding for the same package and version shares an id with it.
    missing = [e for e in expected if not any(g[0] == e[0] and g[1] == e[1] and g[2] & e[3] for g in got)]
    extra = [g for g in got if not any(g[0] == e[0] and g[1] == e[1] and g[2] & e[3] for e in expected)]
    print(f"{lock}: {len(bom['components'])} packages, oracle {len(expected)} records matched, "
          f"palisade {len(got)} findings; missing {len(missing)}, extra {len(extra)}")
    for m in sorted(missing, key=str):
        print("  missing:", m[0], m[1], m[2])
    for x in sorted(extra, key=str):
        print("  extra:", x[0], x[1], sorted(x[2]))
    differences += len(missing) + len(extra)
print(f"differences: {differences}")
sys.exit(1 if differences else 0)
