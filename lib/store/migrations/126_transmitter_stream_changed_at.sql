-- When a transmitter stream was last changed (every put but a reseal of its secret,
-- lib/transmitter/streams.ts). A SET's push retries also end no sooner than
-- REVENANT_WEBHOOK_RETRY_HOURS after it, so SETs first attempted before a long pause are
-- retried again once the stream is enabled; and the start-up catch-up (lib/transmitter/sets.ts)
-- gives a stream only the SETs of coverage written since, never what it did not want before.
-- Existing rows take the time of their last write: the row's version, microseconds since the
-- epoch (lib/store/version.ts).
ALTER TABLE transmitter_streams ADD COLUMN IF NOT EXISTS changed_at DateTime64(3, 'UTC')
    DEFAULT toDateTime64(fromUnixTimestamp64Micro(toInt64(version), 'UTC'), 3, 'UTC');
ALTER TABLE transmitter_streams MATERIALIZE COLUMN changed_at;
