#!/usr/bin/env python3
"""Compare `palisade scan deps` with `cargo audit` on every Cargo.lock under a directory.

Both tools read the same advisories: palisade the OSV export (shared/data/osv/crates.io, imported
into PALISADE_DATA_DIR beforehand), cargo-audit the native RustSec database
(shared/data/rustsec-advisory-db). Prints, per lockfile, the vulnerabilities and informational
warnings each tool reports and every difference; exits 1 if any difference is found.

usage: compare-cargo-audit.py PALISADE_BIN RUSTSEC_DB LOCKFILE_DIR
"""
import json
import pathlib
import subprocess
import sys

palisade, db, root = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])


def cargo_audit(lock):
    out = subprocess.run(
        ["cargo", "audit", "--db", db, "--no-fetch", "--stale", "--json", "-f", str(lock)],
        capture_output=True, text=True, check=False,
    )
    doc = json.loads(out.stdout)
    vulns = {(v["package"]["name"], v["package"]["version"], v["advisory"]["id"])
             for v in doc["vulnerabilities"]["list"]}
    warns = set()
    for kind, items in (doc.get("warnings") or {}).items():
        for w in items:
            if w.get("advisory"):
                warns.add((w["package"]["name"], w["package"]["version"], w["advisory"]["id"], kind))
            else:
                warns.add((w["package"]["name"], w["package"]["version"], "-", kind))
    return vulns, warns


def palisade_scan(lock):
    out = subprocess.run([palisade, "scan", "deps", str(lock), "--format", "json"],
                         capture_output=True, text=True, check=False)
    doc = json.loads(out.stdout)
    vulns = {(f["package"], f["version"], f["id"]) for f in doc["findings"]}
    warns = {(f["package"], f["version"], f["id"], f["kind"]) for f in doc["warnings"]}
    return vulns, warns


differences = 0
for lock in sorted(root.rglob("Cargo.lock")):
    cv, cw = cargo_audit(lock)
    pv, pw = palisade_scan(lock)
    name = lock.relative_to(root).parent
    print(f"{name}: cargo-audit {len(cv)} vulns / {len(cw)} warnings; palisade {len(pv)} vulns / {len(pw)} warnings")
    for label, a, b in (("vuln", cv, pv), ("warning", cw, pw)):
        for x in sorted(a - b):
            differences += 1
            print(f"  only cargo-audit {label}: {' '.join(x)}")
        for x in sorted(b - a):
            differences += 1
            print(f"  only palisade {label}: {' '.join(x)}")
print(f"differences: {differences}")
sys.exit(1 if differences else 0)
