-- Palisade schema v2 (SQLite): per-incident evidence keys and the notification outbox.

-- Each incident's evidence data key (an age X25519 identity), wrapped (age-encrypted) to the
-- master key. Written once, never changed: a key that changed would orphan its evidence.
CREATE TABLE incident_keys (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    wrapped     TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
CREATE TRIGGER incident_keys_no_update BEFORE UPDATE ON incident_keys
BEGIN SELECT RAISE(ABORT, 'incident_keys are written once: rows can never be updated'); END;

-- Side effects (notifications) written in the same transaction as the ledger event that causes
-- them, delivered by a worker with retries. `id` doubles as the receiver's idempotency key.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    incident_id     TEXT REFERENCES incidents (id),
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_us INTEGER NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_us) WHERE delivered_at IS NULL;
