-- Palisade schema v5: readiness. `/healthz` proves that a write would succeed by writing this
-- one row (at most about once a second per server); it holds nothing else.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at TEXT NOT NULL
);
