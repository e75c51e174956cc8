-- Palisade schema v4 (PostgreSQL): a ledger for any stream (kind + id), not only incidents.
--
-- `streams` is the ledger's own index: one row per stream, written with its first append, its
-- `last_seq` kept in the same transaction as every append (appends to one stream serialize on
-- it). The ledger tables are keyed by stream; an incident's stream id is its incident id, so
-- existing rows keep their keys and are not rewritten.

CREATE TABLE streams (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    last_seq   BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX streams_kind ON streams (kind, id);

INSERT INTO streams (id, kind, last_seq, created_at)
SELECT i.id, 'incident',
       coalesce((SELECT max(e.seq) FROM ledger_events e WHERE e.incident_id = i.id), 0),
       i.declared_at
FROM incidents i;

ALTER TABLE ledger_events RENAME COLUMN incident_id TO stream_id;
ALTER TABLE ledger_events DROP CONSTRAINT ledger_events_incident_id_fkey;
ALTER TABLE ledger_events ADD CONSTRAINT ledger_events_stream_id_fkey
    FOREIGN KEY (stream_id) REFERENCES streams (id);

ALTER TABLE ledger_checkpoints RENAME COLUMN incident_id TO stream_id;
ALTER TABLE ledger_checkpoints DROP CONSTRAINT ledger_checkpoints_incident_id_fkey;
ALTER TABLE ledger_checkpoints ADD CONSTRAINT ledger_checkpoints_stream_id_fkey
    FOREIGN KEY (stream_id) REFERENCES streams (id);

-- The stream row holds the event count now.
ALTER TABLE incidents DROP COLUMN last_seq;
ALTER TABLE incidents ADD CONSTRAINT incidents_stream_fkey FOREIGN KEY (id) REFERENCES streams (id);

-- The outbox: any stream's events cause messages, each with its own destination.
ALTER TABLE outbox RENAME COLUMN incident_id TO stream_id;
ALTER TABLE outbox DROP CONSTRAINT outbox_incident_id_fkey;
ALTER TABLE outbox ADD CONSTRAINT outbox_stream_id_fkey FOREIGN KEY (stream_id) REFERENCES streams (id);
ALTER TABLE outbox ADD COLUMN destination TEXT NOT NULL DEFAULT '{"channel":"default"}';
ALTER TABLE outbox ALTER COLUMN destination DROP DEFAULT;

-- Answers of commands sent with an Idempotency-Key, written with their events.
CREATE TABLE idempotency (
    actor        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (actor, key)
);

-- Services: a projection of their streams, for listing and lookup by name.
CREATE TABLE services (
    id          TEXT PRIMARY KEY REFERENCES streams (id),
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_us  BIGINT NOT NULL
);
