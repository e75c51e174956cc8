#!/usr/bin/env python3
"""Write the HEAD tree of a bare repository to a directory, skipping blobs the mirror lacks.

usage: extract_tree.py GIT_DIR DEST
(`git archive` aborts on the first absent blob; mirrors may omit their largest files.)
"""
import os, subprocess, sys

git_dir, dest = sys.argv[1], sys.argv[2]
ls = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "-r", "-z", "HEAD"], check=True, capture_output=True).stdout
entries = []
for rec in ls.split(b"\0"):
    if not rec:
        continue
    meta, path = rec.split(b"\t", 1)
    mode, typ, oid = meta.split()
    if typ == b"blob" and mode != b"120000":
        entries.append((oid, path))
p = subprocess.Popen(["git", "--git-dir", git_dir, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
skipped = 0
for oid, path in entries:
    p.stdin.write(oid + b"\n"); p.stdin.flush()
    header = p.stdout.readline().split()
    if len(header) < 3 or header[1] != b"blob":
        skipped += 1
        continue
    data = p.stdout.read(int(header[2])); p.stdout.read(1)
    out = os.path.join(dest.encode(), path)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(data)
p.stdin.close(); p.wait()
print(f"{git_dir}: {len(entries) - skipped} files written, {skipped} absent from the mirror", file=sys.stderr)
