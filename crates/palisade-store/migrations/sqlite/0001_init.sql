-- Palisade schema v1 (SQLite).
-- The ledger tables are append-only: triggers refuse UPDATE and DELETE.
-- `incidents` and `incident_members` are projections derived from the ledger; they may be
-- rebuilt from it and are never trusted by `palisade verify`.

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    codename    TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    restricted  INTEGER NOT NULL,
    commander   TEXT,
    declared_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_us  INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL
) STRICT;
CREATE INDEX incidents_updated ON incidents (updated_us DESC);

CREATE TABLE incident_members (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    user_name   TEXT NOT NULL,
    PRIMARY KEY (incident_id, user_name)
) STRICT, WITHOUT ROWID;
CREATE INDEX incident_members_user ON incident_members (user_name);

CREATE TABLE ledger_events (
    incident_id    TEXT NOT NULL REFERENCES incidents (id),
    seq            INTEGER NOT NULL,
    body           TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    PRIMARY KEY (incident_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE ledger_checkpoints (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    seq         INTEGER NOT NULL,
    body        TEXT NOT NULL,
    signature   TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER ledger_events_no_update BEFORE UPDATE ON ledger_events
BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only: rows can never be updated'); END;
CREATE TRIGGER ledger_events_no_delete BEFORE DELETE ON ledger_events
BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only: rows can never be deleted'); END;
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: rows can never be updated'); END;
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: rows can never be deleted'); END;

CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users (name),
    label      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE signing_keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
