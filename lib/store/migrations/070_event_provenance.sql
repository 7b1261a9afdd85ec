-- Evidence integrity (docs/EVENTS.md, "First copy wins" and "Provenance").
--
-- Each stored event carries how it arrived: the Kafka topic (partition and offset were
-- already there), the SHA-256 of the message as received, and for events posted to
-- POST /api/v1/events the principal that posted them (`api_key:<id>` or `user:<id>`),
-- taken only from a header the app signed itself (lib/events/provenance.ts).
-- Rows stored before this migration keep '' in the new columns.
ALTER TABLE events ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS content_hash String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS submitted_by String DEFAULT '';

-- The first stored copy of every event_id, kept by a view on events, so the row and its
-- entry are written by the same insert. EmbeddedRocksDB answers "which of these ids are
-- stored, with which hash?" by key, whatever the table's size: a MergeTree sorted by
-- random ids would read most of its granules for a batch of 50,000 of them.
-- agent_id and time lead to the row in events by primary key (GET /api/v1/events/{id}).
CREATE TABLE IF NOT EXISTS event_first_copies
(
    event_id      String,
    content_hash  String,
    agent_id      String,
    time          DateTime64(3, 'UTC'),
    ingested_at   DateTime64(3, 'UTC')
)
ENGINE = EmbeddedRocksDB
PRIMARY KEY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS event_first_copies_mv TO event_first_copies AS
SELECT event_id, content_hash, agent_id, time, ingested_at
FROM events;

-- Events stored before this migration: their content hash is unknown (''), so any later
-- copy of them is kept aside as a conflict, never taken for a harmless repeat.
INSERT INTO event_first_copies
SELECT event_id, '', argMin(agent_id, ingested_at), argMin(time, ingested_at), min(ingested_at)
FROM events
WHERE content_hash = ''
GROUP BY event_id;

-- Later copies of a stored event_id whose content differs from the first: kept aside for
-- investigators, never in events, never seen by detection. One row per Kafka message, so a
-- redelivered conflicting message is recorded once.
CREATE TABLE IF NOT EXISTS event_conflicts
(
    event_id         String,
    received_at      DateTime64(3, 'UTC') DEFAULT now64(3),
    content_hash     String,
    first_hash       String,
    kafka_topic      LowCardinality(String),
    kafka_partition  Int32,
    kafka_offset     Int64,
    submitted_by     String,
    payload          String
)
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (event_id, kafka_topic, kafka_partition, kafka_offset);

-- The key that signs the submitter header of messages the app itself produces
-- (lib/events/provenance.ts). Made once; if two processes race, both read the oldest.
CREATE TABLE IF NOT EXISTS provenance_keys
(
    created  DateTime64(3, 'UTC') DEFAULT now64(3),
    key      String
)
ENGINE = MergeTree
ORDER BY created;

INSERT INTO provenance_keys (key)
SELECT hex(randomString(32)) FROM system.one WHERE (SELECT count() FROM provenance_keys) = 0;
