-- Schema 9: lists of one parent's records (a scan's findings, a service's alerts) in order
-- read only that parent's rows. Without it SQLite walks every record of the kind in
-- `records_kind` order to skip the sort (a scan's comparison read all findings of every scan).
CREATE INDEX IF NOT EXISTS records_kind_parent ON records (kind, parent_id, sort_us);
