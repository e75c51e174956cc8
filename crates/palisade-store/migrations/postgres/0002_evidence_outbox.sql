-- Palisade schema v2 (PostgreSQL): per-incident evidence keys and the notification outbox.

CREATE TABLE incident_keys (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    wrapped     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE FUNCTION incident_keys_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incident_keys are written once: rows can never be updated';
END $$;
CREATE TRIGGER incident_keys_no_update BEFORE UPDATE ON incident_keys
    FOR EACH ROW EXECUTE FUNCTION incident_keys_write_once();

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    incident_id     TEXT REFERENCES incidents (id),
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_us BIGINT NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_us) WHERE delivered_at IS NULL;
