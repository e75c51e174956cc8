-- Palisade schema v1 (PostgreSQL).
-- The ledger tables are append-only: triggers refuse UPDATE, DELETE and TRUNCATE.
-- `incidents` and `incident_members` are projections derived from the ledger; they may be
-- rebuilt from it and are never trusted by `palisade verify`.

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    codename    TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    BIGINT NOT NULL,
    status      TEXT NOT NULL,
    restricted  BOOLEAN NOT NULL,
    commander   TEXT,
    declared_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_us  BIGINT NOT NULL,
    last_seq    BIGINT NOT NULL
);
CREATE INDEX incidents_updated ON incidents (updated_us DESC);

CREATE TABLE incident_members (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    user_name   TEXT NOT NULL,
    PRIMARY KEY (incident_id, user_name)
);
CREATE INDEX incident_members_user ON incident_members (user_name);

CREATE TABLE ledger_events (
    incident_id    TEXT NOT NULL REFERENCES incidents (id),
    seq            BIGINT NOT NULL,
    body           TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);

CREATE TABLE ledger_checkpoints (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    seq         BIGINT NOT NULL,
    body        TEXT NOT NULL,
    signature   TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);

CREATE FUNCTION palisade_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION '% is append-only: rows can never be %', TG_TABLE_NAME,
        CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'TRUNCATE' THEN 'truncated' ELSE 'deleted' END;
END;
$fn$;
CREATE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE ON ledger_events
    FOR EACH ROW EXECUTE FUNCTION palisade_ledger_append_only();
CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_ledger_append_only();
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION palisade_ledger_append_only();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_ledger_append_only();

CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users (name),
    label      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE signing_keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);
