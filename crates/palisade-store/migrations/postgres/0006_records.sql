-- Palisade schema v6: the listing rows and unique keys of aggregates that have no table of their
-- own (alerts, and the aggregates that follow). Both are projections, written in the same
-- transaction as the events they follow from and rebuildable from the ledger.
--
-- `records`: one row per stream, what lists filter and sort on (the stream it belongs to, a
-- status, a sort key) and the listing row itself as JSON.
CREATE TABLE records (
    stream_id TEXT PRIMARY KEY REFERENCES streams (id),
    kind      TEXT NOT NULL,
    parent_id TEXT,
    status    TEXT NOT NULL,
    sort_us   BIGINT NOT NULL,
    summary   TEXT NOT NULL
);
CREATE INDEX records_kind ON records (kind, sort_us);
CREATE INDEX records_kind_status ON records (kind, status, sort_us);
CREATE INDEX records_parent ON records (parent_id, kind, status, sort_us);

-- `stream_keys`: unique keys a stream holds now (a service's integration key hashes, an open
-- alert's deduplication key). A key another stream holds cannot be taken: the append that
-- tries is refused whole.
CREATE TABLE stream_keys (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    stream_id TEXT NOT NULL REFERENCES streams (id),
    PRIMARY KEY (namespace, key)
);
CREATE INDEX stream_keys_stream ON stream_keys (stream_id);
