-- Palisade schema v3: listing filtered by status and severity uses an index instead of scanning
-- every incident (most recently updated first within a filter).
CREATE INDEX incidents_filter ON incidents (status, severity, updated_us DESC);
