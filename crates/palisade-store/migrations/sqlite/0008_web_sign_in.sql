-- Palisade schema v8: signing in to the web UI. Passwords are argon2id hashes (PHC strings); a
-- user sets one through a one-time link an admin creates (only its SHA-256 is stored). A web
-- session is a random secret in a cookie, stored as its SHA-256, with an id that is safe to
-- show; times in whole seconds since the Unix epoch where they are compared.
CREATE TABLE passwords (
    user_name TEXT PRIMARY KEY REFERENCES users (name),
    hash TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE TABLE password_links (
    link_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_s INTEGER NOT NULL,
    used_at TEXT
);
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    user_name TEXT NOT NULL REFERENCES users (name),
    method TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_s INTEGER NOT NULL,
    expires_s INTEGER NOT NULL,
    revoked_at TEXT
);
CREATE INDEX web_sessions_user ON web_sessions (user_name, created_at);
