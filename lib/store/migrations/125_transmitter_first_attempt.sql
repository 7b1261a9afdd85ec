-- When a SET was first offered to its push receiver (lib/transmitter/push.ts). Its retries
-- end REVENANT_WEBHOOK_RETRY_HOURS after that, not after it was recorded: a paused stream's
-- SETs are held (SSF 1.0 stream status), and counted from their recording, a pause longer
-- than the window left each of them one attempt on resume, failed for good at the first
-- answer that was not 2xx. NULL until the first attempt; rows from before this column count
-- from their recording, as they did.
ALTER TABLE transmitter_sets ADD COLUMN IF NOT EXISTS first_attempt_at Nullable(DateTime64(3, 'UTC')) DEFAULT NULL;
