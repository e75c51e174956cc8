#!/usr/bin/env python3
"""Independent verifier of a Palisade ledger (formats 1 and 2), written from docs/ledger-format.md alone.

Usage: verify_ledger.py DATA_DIR
       verify_ledger.py BUNDLE.tar [PUBLIC_KEY_HEX]

DATA_DIR: reads DATA_DIR/palisade.db (SQLite), recomputes every event hash and checkpoint link,
checks that each stream's newest checkpoint covers its last event, and - when the `cryptography`
package is installed - verifies the newest checkpoint signature of each stream with
DATA_DIR/ledger-signing.pub. Streams of every kind (incidents, services, ...) are checked alike.

BUNDLE.tar: an export bundle ("Export bundles" in ledger-format.md): the same checks on its
ledger (every signature, with the given key or the bundle's own), that it ends with its own
`exported` event, that the manifest equals the ledger's `evidence_acquired` events, and that every
evidence file hashes to what the ledger records.

Prints "OK ..." and exits 0, or prints the first problem and exits 1.
"""
import hashlib
import json
import os
import sqlite3
import sys
import tarfile
import unicodedata

EVENT_TAG = b"palisade/ledger/event/v1\x00"
CHECKPOINT_TAG = b"palisade/ledger/checkpoint/v1\x00"
LINK_TAG = b"palisade/ledger/checkpoint-link/v1\x00"


def canonical(obj):
    # RFC 8785 for Palisade's subset: ASCII keys, integers only.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fail(stream, seq, what):
    print(f"FAILED: stream {stream} event {seq}: {what}")
    sys.exit(1)


def named_stream(obj):
    """The stream (kind, id) an event or checkpoint body names: format 1 bodies name an
    incident in `incident`; format 2 bodies name `stream` as "kind/id"."""
    if obj.get("format") == 1 and "incident" in obj and "stream" not in obj:
        return ("incident", obj["incident"])
    if obj.get("format") == 2 and "stream" in obj and "incident" not in obj:
        kind, _, sid = obj["stream"].partition("/")
        return (kind, sid)
    return None


def main(data_dir):
    db = sqlite3.connect(f"file:{data_dir}/palisade.db?mode=ro", uri=True)
    events = db.execute(
        "SELECT stream_id, seq, body, prev_hash, hash FROM ledger_events ORDER BY stream_id, seq"
    )
    checkpoints = db.execute(
        "SELECT stream_id, seq, body, signature FROM ledger_checkpoints ORDER BY stream_id, seq"
    )
    key_hex = open(f"{data_dir}/ledger-signing.pub").read().strip()
    heads = check_ledger(events, checkpoints, key_hex, all_signatures=False)
    n = sum(len(c) for c in heads.values())
    print(f"OK {len(heads)} streams, {n} events, signatures {'checked' if load_key(key_hex) else 'not checked (no cryptography package)'}")


def load_key(key_hex):
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))


def check_ledger(events, checkpoints, key_hex, all_signatures):
    """Check rows (stream, seq, body, prev_hash, hash) and checkpoints (stream, seq, body,
    signature), both ordered by stream then seq. Returns stream -> list of event hashes."""
    heads = {}  # stream id -> list of hashes
    kinds = {}  # stream id -> the kind its events name
    for stream, seq, body, prev_hash, hsh in events:
        chain = heads.setdefault(stream, [])
        if seq != len(chain) + 1:
            fail(stream, seq, f"expected event {len(chain) + 1}")
        prev = bytes.fromhex(chain[-1]) if chain else bytes(32)
        if prev_hash != prev.hex():
            fail(stream, seq, "prev_hash does not match")
        obj = json.loads(body)
        if canonical(obj) != body:
            fail(stream, seq, "body is not canonical JSON")
        computed = hashlib.sha256(EVENT_TAG + prev + body.encode()).hexdigest()
        if computed != hsh:
            fail(stream, seq, "hash does not match the body")
        named = named_stream(obj)
        if named is None or named[1] != stream or obj["seq"] != seq:
            fail(stream, seq, "the body names another stream or event")
        if kinds.setdefault(stream, named[0]) != named[0]:
            fail(stream, seq, "the body names another kind of stream than the earlier events")
        chain.append(computed)

    newest = {}
    links = {}
    key = load_key(key_hex)
    for incident, seq, body, sig in checkpoints:
        cp = json.loads(body)
        chain = heads.get(incident, [])
        if named_stream(cp) != (kinds.get(incident), incident) or cp["seq"] != seq:
            fail(incident, seq, "checkpoint stored under the wrong key")
        if seq > len(chain) or cp["head"] != chain[seq - 1]:
            fail(incident, seq, "checkpoint head does not match the ledger")
        if cp["prev"] != links.get(incident, bytes(32)).hex():
            fail(incident, seq, "checkpoint does not link to the previous one")
        links[incident] = hashlib.sha256(LINK_TAG + CHECKPOINT_TAG + body.encode() + bytes.fromhex(sig)).digest()
        newest[incident] = (seq, body, sig)
        if all_signatures and key is not None:
            try:
                key.verify(bytes.fromhex(sig), CHECKPOINT_TAG + body.encode())
            except Exception:
                fail(incident, seq, "signature does not verify")

    for incident, chain in heads.items():
        if incident not in newest or newest[incident][0] != len(chain):
            fail(incident, len(chain), "last event not covered by a checkpoint")
        if key is not None:
            seq, body, sig = newest[incident]
            try:
                key.verify(bytes.fromhex(sig), CHECKPOINT_TAG + body.encode())
            except Exception:
                fail(incident, seq, "signature does not verify")
    return heads


def bundle(path, key_hex=None):
    with tarfile.open(path, "r:") as tar:
        members = {m.name: m for m in tar.getmembers()}

        def read(name):
            if name not in members:
                fail("-", "-", f"{name} is missing from the bundle")
            return tar.extractfile(members[name]).read()

        header = json.loads(read("palisade-bundle.json"))
        if header.get("format") != "palisade-bundle/1":
            fail("-", "-", f"unknown bundle format {header.get('format')!r}")
        incident = header["incident"]
        rows = [json.loads(l) for l in read("ledger/events.jsonl").decode().splitlines() if l]
        cps = [json.loads(l) for l in read("ledger/checkpoints.jsonl").decode().splitlines() if l]
        key_hex = key_hex or header["public_key"]
        check_ledger(
            [(incident, r["seq"], r["body"], r["prev_hash"], r["hash"]) for r in rows],
            [(incident, c["seq"], c["body"], c["signature"]) for c in cps],
            key_hex,
            all_signatures=True,
        )
        bodies = [json.loads(r["body"]) for r in rows]
        if not bodies or bodies[-1]["data"]["type"] != "exported":
            fail(incident, len(bodies), "the ledger does not end with the bundle's own `exported` event")
        if bodies[-1]["data"]["with_evidence"] != header["with_evidence"]:
            fail(incident, len(bodies), "with_evidence differs from the recorded export")
        expected = []
        legacy = []  # the paths bundles made before `.` and `..` became underscores listed
        for b in bodies:
            d = b["data"]
            if d["type"] == "evidence_acquired":
                name = "".join("_" if c in "/\\" or unicodedata.category(c) == "Cc" else c for c in d["name"])
                legacy.append(f"evidence/E{d['evidence']}/{name}")
                if name in ("", ".", ".."):
                    name = "_" * max(len(name), 1)
                expected.append({"evidence": d["evidence"], "name": d["name"], "sha256": d["sha256"],
                                 "size": d["size"], "path": f"evidence/E{d['evidence']}/{name}"})
        manifest = json.loads(read("evidence/manifest.json"))["evidence"]
        if len(manifest) != len(expected) or any(
            got != want and got != dict(want, path=old) for got, want, old in zip(manifest, expected, legacy)
        ):
            fail(incident, "-", "the evidence manifest does not match the ledger")
        files = 0
        for e in expected:
            if e["path"] not in members:
                if header["with_evidence"]:
                    fail(incident, "-", f"{e['path']} is missing")
                continue
            h = hashlib.sha256()
            f = tar.extractfile(members[e["path"]])
            size = 0
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
            if h.hexdigest() != e["sha256"] or size != e["size"]:
                fail(incident, "-", f"{e['path']} does not match the ledger")
            files += 1
    signed = "checked" if load_key(key_hex) else "not checked (no cryptography package)"
    print(f"OK bundle of {header['codename']}: {len(rows)} events, {files} evidence files, signatures {signed}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and os.path.isdir(sys.argv[1]):
        main(sys.argv[1])
    elif len(sys.argv) in (2, 3) and os.path.isfile(sys.argv[1]):
        bundle(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    else:
        print(__doc__)
        sys.exit(2)
