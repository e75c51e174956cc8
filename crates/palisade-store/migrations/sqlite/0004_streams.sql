-- Palisade schema v4 (SQLite): a ledger for any stream (kind + id), not only incidents.
--
-- `streams` is the ledger's own index: one row per stream, written with its first append, its
-- `last_seq` kept in the same transaction as every append. The ledger tables are keyed by
-- stream; an incident's stream id is its incident id, so existing rows keep their keys.
-- SQLite changes a table's foreign keys only by rebuilding it: the ledger tables are copied
-- row for row (bodies and hashes untouched) and their append-only triggers recreated.

CREATE TABLE streams (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    last_seq   INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX streams_kind ON streams (kind, id);

INSERT INTO streams (id, kind, last_seq, created_at)
SELECT i.id, 'incident',
       coalesce((SELECT max(e.seq) FROM ledger_events e WHERE e.incident_id = i.id), 0),
       i.declared_at
FROM incidents i;

CREATE TABLE ledger_events_v4 (
    stream_id      TEXT NOT NULL REFERENCES streams (id),
    seq            INTEGER NOT NULL,
    body           TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    PRIMARY KEY (stream_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO ledger_events_v4 (stream_id, seq, body, prev_hash, hash, recorded_at_us)
SELECT incident_id, seq, body, prev_hash, hash, recorded_at_us FROM ledger_events;
DROP TABLE ledger_events;
ALTER TABLE ledger_events_v4 RENAME TO ledger_events;

CREATE TABLE ledger_checkpoints_v4 (
    stream_id TEXT NOT NULL REFERENCES streams (id),
    seq       INTEGER NOT NULL,
    body      TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (stream_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO ledger_checkpoints_v4 (stream_id, seq, body, signature)
SELECT incident_id, seq, body, signature FROM ledger_checkpoints;
DROP TABLE ledger_checkpoints;
ALTER TABLE ledger_checkpoints_v4 RENAME TO ledger_checkpoints;

CREATE TRIGGER ledger_events_no_update BEFORE UPDATE ON ledger_events
BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only: rows can never be updated'); END;
CREATE TRIGGER ledger_events_no_delete BEFORE DELETE ON ledger_events
BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only: rows can never be deleted'); END;
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: rows can never be updated'); END;
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: rows can never be deleted'); END;

-- The stream row holds the event count now.
ALTER TABLE incidents DROP COLUMN last_seq;

-- The outbox: any stream's events cause messages, each with its own destination.
CREATE TABLE outbox_v4 (
    id              TEXT PRIMARY KEY,
    stream_id       TEXT REFERENCES streams (id),
    kind            TEXT NOT NULL,
    destination     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_us INTEGER NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT
) STRICT;
INSERT INTO outbox_v4 (id, stream_id, kind, destination, payload, created_at, attempts,
                       next_attempt_us, last_error, delivered_at)
SELECT id, incident_id, kind, '{"channel":"default"}', payload, created_at, attempts,
       next_attempt_us, last_error, delivered_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v4 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_us) WHERE delivered_at IS NULL;

-- Answers of commands sent with an Idempotency-Key, written with their events.
CREATE TABLE idempotency (
    actor        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (actor, key)
) STRICT, WITHOUT ROWID;

-- Services: a projection of their streams, for listing and lookup by name.
CREATE TABLE services (
    id          TEXT PRIMARY KEY REFERENCES streams (id),
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_us  INTEGER NOT NULL
) STRICT;
