#!/usr/bin/env python3
"""Independent verifier of a Palisade ledger (format v1), written from docs/ledger-format.md alone.

Usage: verify_ledger.py DATA_DIR

Reads DATA_DIR/palisade.db (SQLite), recomputes every event hash and checkpoint link, checks that
each incident's newest checkpoint covers its last event, and - when the `cryptography` package is
installed - verifies the newest checkpoint signature of each incident with DATA_DIR/ledger-signing.pub.
Prints "OK ..." and exits 0, or prints the first problem and exits 1.
"""
import hashlib
import json
import sqlite3
import sys

EVENT_TAG = b"palisade/ledger/event/v1\x00"
CHECKPOINT_TAG = b"palisade/ledger/checkpoint/v1\x00"
LINK_TAG = b"palisade/ledger/checkpoint-link/v1\x00"


def canonical(obj):
    # RFC 8785 for Palisade's subset: ASCII keys, integers only.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fail(incident, seq, what):
    print(f"FAILED: incident {incident} event {seq}: {what}")
    sys.exit(1)


def main(data_dir):
    db = sqlite3.connect(f"file:{data_dir}/palisade.db?mode=ro", uri=True)
    heads = {}  # incident -> list of hashes
    for incident, seq, body, prev_hash, hsh in db.execute(
        "SELECT incident_id, seq, body, prev_hash, hash FROM ledger_events ORDER BY incident_id, seq"
    ):
        chain = heads.setdefault(incident, [])
        if seq != len(chain) + 1:
            fail(incident, seq, f"expected event {len(chain) + 1}")
        prev = bytes.fromhex(chain[-1]) if chain else bytes(32)
        if prev_hash != prev.hex():
            fail(incident, seq, "prev_hash does not match")
        if canonical(json.loads(body)) != body:
            fail(incident, seq, "body is not canonical JSON")
        computed = hashlib.sha256(EVENT_TAG + prev + body.encode()).hexdigest()
        if computed != hsh:
            fail(incident, seq, "hash does not match the body")
        chain.append(computed)

    newest = {}
    links = {}
    for incident, seq, body, sig in db.execute(
        "SELECT incident_id, seq, body, signature FROM ledger_checkpoints ORDER BY incident_id, seq"
    ):
        cp = json.loads(body)
        chain = heads.get(incident, [])
        if cp["incident"] != incident or cp["seq"] != seq:
            fail(incident, seq, "checkpoint stored under the wrong key")
        if seq > len(chain) or cp["head"] != chain[seq - 1]:
            fail(incident, seq, "checkpoint head does not match the ledger")
        if cp["prev"] != links.get(incident, bytes(32)).hex():
            fail(incident, seq, "checkpoint does not link to the previous one")
        links[incident] = hashlib.sha256(LINK_TAG + CHECKPOINT_TAG + body.encode() + bytes.fromhex(sig)).digest()
        newest[incident] = (seq, body, sig)

    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(open(f"{data_dir}/ledger-signing.pub").read().strip()))
    except ImportError:
        key = None
    for incident, chain in heads.items():
        if incident not in newest or newest[incident][0] != len(chain):
            fail(incident, len(chain), "last event not covered by a checkpoint")
        if key is not None:
            seq, body, sig = newest[incident]
            try:
                key.verify(bytes.fromhex(sig), CHECKPOINT_TAG + body.encode())
            except Exception:
                fail(incident, seq, "signature does not verify")
    events = sum(len(c) for c in heads.values())
    print(f"OK {len(heads)} incidents, {events} events, signatures {'checked' if key else 'not checked (no cryptography package)'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1])
