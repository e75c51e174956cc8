-- Palisade schema v7: dead letters. A message that failed its last allowed attempt is kept, with
-- its last error and when it was given up (`dead_at`), and is not tried again until someone
-- resends it. The delivery log lists pending, delivered and dead messages.
ALTER TABLE outbox ADD COLUMN dead_at TEXT;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_us) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_created ON outbox (created_at);
