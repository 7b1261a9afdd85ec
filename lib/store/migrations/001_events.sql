-- Telemetry events, append-only, one row per event_id (docs/EVENTS.md).
--
-- ORDER BY (agent_id, time, event_id): the hottest reads are per-agent timelines
-- (agent_id prefix + time range) and detection's "actions of agent S after R"; event_id
-- last makes the sorting key unique per event, which is what ReplacingMergeTree collapses on.
-- A redelivered event has the same agent_id, time and event_id, so duplicates share a key
-- and are merged away in the background; readers use FINAL so they never see a duplicate
-- before that merge. ingested_at is the version: the last stored copy wins.
-- Lookups by credential, session and pipeline use bloom-filter skip indexes instead of
-- extra projections: those lists are small next to a timeline. (No index on event_id or
-- type: nothing reads events by id alone, and each index costs every insert.)
-- PARTITION BY month keeps parts of a useful size at 10k events/s and lets TTL or manual
-- retention drop whole months.
-- non_replicated_deduplication_window: retried inserts of the same batch (same
-- insert_deduplication_token) are dropped before they ever reach a part.
CREATE TABLE IF NOT EXISTS events
(
    event_id          String,
    type              LowCardinality(String),
    time              DateTime64(3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    agent_id          String,
    pipeline_id       String,
    session_id        String,
    credential_id     String,
    layer             LowCardinality(String),
    source            LowCardinality(String),
    action            LowCardinality(String),
    resource          String,
    decision          LowCardinality(String),
    sensitivity       LowCardinality(String),
    trace_id          String,
    span_id           String,
    rev_scope         LowCardinality(String),
    rev_subject       String,
    rev_reason        String,
    rev_cascade       Bool DEFAULT true,
    rev_initiated_by  String,
    cred_id           String,
    cred_kind         LowCardinality(String),
    cred_parent_id    String,
    cred_expires_at   Nullable(DateTime64(3, 'UTC')),
    attributes        Map(String, String),
    kafka_partition   Int32 DEFAULT -1,
    kafka_offset      Int64 DEFAULT -1,
    INDEX idx_credential_id credential_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_session_id    session_id    TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_pipeline_id   pipeline_id   TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(time)
ORDER BY (agent_id, time, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Which credential each agent / session / pipeline issued or presented (detection's root
-- sets, docs/SEMANTICS.md), kept by a materialized view so that detection never scans events for it.
-- ORDER BY (owner_kind, owner_id, credential_id) answers "credentials of agent S" by prefix;
-- the bloom index answers the reverse, "who presented credential C".
CREATE TABLE IF NOT EXISTS credential_presence
(
    owner_kind     LowCardinality(String),
    owner_id       String,
    credential_id  String,
    first_seen     SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen      SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    INDEX idx_credential_id credential_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = AggregatingMergeTree
ORDER BY (owner_kind, owner_id, credential_id);

-- GROUP BY inside the view collapses each insert block first: an agent presents the same
-- token thousands of times, and only (owner, credential, first, last) matters.
CREATE MATERIALIZED VIEW IF NOT EXISTS credential_presence_mv TO credential_presence AS
SELECT owner.1 AS owner_kind, owner.2 AS owner_id, cred AS credential_id, min(time) AS first_seen, max(time) AS last_seen
FROM events
ARRAY JOIN arrayFilter(c -> c != '', arrayDistinct([credential_id, if(type = 'credential_issued', cred_id, '')])) AS cred
ARRAY JOIN arrayFilter(o -> o.2 != '', [('agent', agent_id), ('session', session_id), ('pipeline', pipeline_id)]) AS owner
GROUP BY owner_kind, owner_id, credential_id;

-- Credential lineage (child → parent) from credential_issued events.
-- ORDER BY (parent_id, credential_id): cascade walks the graph downwards, parent to children.
CREATE TABLE IF NOT EXISTS credential_lineage
(
    parent_id      String,
    credential_id  String,
    holder_agent   String,
    kind           LowCardinality(String),
    issued_at      DateTime64(3, 'UTC'),
    event_id       String,
    INDEX idx_credential_id credential_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
ORDER BY (parent_id, credential_id, holder_agent, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS credential_lineage_mv TO credential_lineage AS
SELECT cred_parent_id AS parent_id, cred_id AS credential_id, agent_id AS holder_agent, cred_kind AS kind, time AS issued_at, event_id
FROM events
WHERE type = 'credential_issued' AND cred_id != '';

-- Revocations and reinstatements, few and small, kept apart from the event stream so that
-- detection loads them all at start without touching events.
CREATE TABLE IF NOT EXISTS revocation_events
(
    event_id      String,
    type          LowCardinality(String),
    time          DateTime64(3, 'UTC'),
    scope         LowCardinality(String),
    subject       String,
    cascade       Bool,
    reason        String,
    initiated_by  String,
    agent_id      String,
    pipeline_id   String
)
ENGINE = ReplacingMergeTree
ORDER BY (scope, subject, time, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS revocation_events_mv TO revocation_events AS
SELECT event_id, type, time, rev_scope AS scope, rev_subject AS subject, rev_cascade AS cascade,
       rev_reason AS reason, rev_initiated_by AS initiated_by, agent_id, pipeline_id
FROM events
WHERE type IN ('revocation', 'reinstatement');

-- Messages that failed decoding or validation. The dead-letter topic keeps the original
-- bytes; this table keeps enough to count and show them. ORDER BY the Kafka coordinates
-- so a redelivered bad message replaces its earlier row instead of counting twice.
CREATE TABLE IF NOT EXISTS dead_letters
(
    received_at  DateTime64(3, 'UTC'),
    origin       LowCardinality(String),
    topic        String,
    partition    Int32,
    offset       Int64,
    reason       String,
    payload      String
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (topic, partition, offset);
