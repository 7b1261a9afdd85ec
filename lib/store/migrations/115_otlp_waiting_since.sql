-- When a tool span began waiting for its agent (lib/otlp/store.ts, expireWaiting). A tool span
-- whose invoke_agent ancestor never arrives (sampled out, lost by an exporter) waited for
-- ever: never stored, never dead-lettered, and every batch of the OTLP intake read its trace
-- id again. Past OTLP_ANCESTOR_WAIT_MS it is dead-lettered with the span that is missing.
-- It also gains two states (lib/otlp/batch.ts): 3, claimed by the expiry, and 4, settled by it.
-- Rows stored before this column get the time of the migration (MATERIALIZE), not the time
-- of every read (an added column's DEFAULT is computed on read until a part is rewritten).
ALTER TABLE otlp_waiting ADD COLUMN IF NOT EXISTS waiting_since DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE otlp_waiting MATERIALIZE COLUMN waiting_since;
