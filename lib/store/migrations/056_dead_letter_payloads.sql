-- A dead letter's payload is kept in part (64 KiB) here and in part or whole in the
-- dead-letter topic: its full size and SHA-256 identify the original message either way
-- (ingest/dead-letters.ts).
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_bytes UInt64 DEFAULT length(payload);
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_sha256 String DEFAULT '';
