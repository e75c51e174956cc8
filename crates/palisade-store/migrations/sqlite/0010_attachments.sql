-- Schema 10: files handed out with a stream (a CTF challenge's attachments), content-addressed.
-- The ledger records each file's name, size and SHA-256; the bytes live here, once per content,
-- and are checked against the ledger's hash whenever they are read.
CREATE TABLE attachments (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    content BLOB NOT NULL,
    stored_at TEXT NOT NULL
);
