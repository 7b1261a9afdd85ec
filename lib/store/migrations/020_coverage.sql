-- Detection at scale (docs/ARCHITECTURE.md, "detection"): coverage kept as data, counters kept
-- incrementally, and the bookkeeping the worker resumes from after a restart. A stored batch is
-- matched against the coverage rows of the keys it mentions, so its cost follows the batch, not
-- the history of the revocations it touches.

-- What each revocation covers: one row per (key kind, key, revocation). key_kind is the field an
-- action is matched on: 'agent' / 'session' / 'pipeline' / 'credential' with via 'direct' for the
-- revocation's own subject, and 'credential' with via 'cascade' for every other covered credential
-- (root set and delegated descendants, docs/SEMANTICS.md points 3–5). The window and the
-- generation new pairs are written to travel with every row, so the hot path needs no other read.
-- ORDER BY (key_kind, key, …): a batch looks up the keys it mentions by primary-key prefix.
-- Rows are rewritten whole (new version) when a revocation's window or covered set changes.
CREATE TABLE IF NOT EXISTS coverage
(
    key_kind       LowCardinality(String),
    key            String,
    revocation_id  String,
    via            LowCardinality(String),
    scope          LowCardinality(String),
    subject        String,
    cascade        Bool,
    revoked_at     DateTime64(3, 'UTC'),
    reinstated_at  Nullable(DateTime64(3, 'UTC')),
    generation     UInt32,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (key_kind, key, revocation_id);

-- Detection's bookkeeping per revocation. `generation` is the committed generation, the one
-- summaries and alerts are read from (0: never derived yet); `write_generation` is where new
-- pairs go; `pending` = 1 while a derivation from scratch is due (lib/detection/derivation.ts).
-- The worker resumes pending derivations from here after a restart: no sweep at start.
CREATE TABLE IF NOT EXISTS revocation_state
(
    revocation_id     String,
    scope             LowCardinality(String),
    subject           String,
    cascade           Bool,
    reason            String,
    initiated_by      String,
    revoked_at        DateTime64(3, 'UTC'),
    reinstated_at     Nullable(DateTime64(3, 'UTC')),
    generation        UInt32,
    write_generation  UInt32,
    pending           UInt8,
    version           UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY revocation_id;

-- Pairs belong to a generation of their revocation: a derivation from scratch writes a whole
-- new generation, so counters never have to subtract.
ALTER TABLE post_revocation_actions ADD COLUMN IF NOT EXISTS generation UInt32 DEFAULT 0;
-- Pair inserts carry a token derived from their keys (lib/detection/pairs.ts): the table remembers
-- the last 1000 tokens and drops a repeated insert, so a pass repeated concurrently counts once.
ALTER TABLE post_revocation_actions MODIFY SETTING non_replicated_deduplication_window = 1000;

-- Per (revocation, generation, agent, via, layer) counters, kept by a materialized view over
-- the pairs as they are appended: a pair is inserted once per generation (the writer checks
-- the pair's key first), so sums and minima are exact without re-reading any pair. Times use
-- sentinels instead of -If (whose empty value would be 1970 and win every min()):
-- 2299-12-31 for "no such pair" in minima, 1970 in maxima; real event times lie in between.
CREATE TABLE IF NOT EXISTS revocation_counters
(
    revocation_id    String,
    generation       UInt32,
    agent_id         String,
    via              LowCardinality(String),
    layer            LowCardinality(String),
    violations       SimpleAggregateFunction(sum, UInt64),
    blocked          SimpleAggregateFunction(sum, UInt64),
    first_violation  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_violation   SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    first_blocked    SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    severe           SimpleAggregateFunction(max, UInt8),
    -- earliest violation that names a pipeline: (time, event_id, pipeline_id)
    first_pipeline   SimpleAggregateFunction(min, Tuple(DateTime64(3, 'UTC'), String, String)),
    pipelines        SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    -- the 10 earliest violations by (time, event_id): an alert's sample_event_ids
    samples          AggregateFunction(groupArraySorted(10), Tuple(DateTime64(3, 'UTC'), String))
)
ENGINE = AggregatingMergeTree
ORDER BY (revocation_id, generation, agent_id, via, layer)
-- A pair insert dropped as a repeat (its token, lib/detection/pairs.ts) must not count here
-- either: the view's blocks inherit the token and are deduplicated the same way.
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS revocation_counters_mv TO revocation_counters AS
SELECT revocation_id, generation, agent_id, via, layer,
       toUInt64(countIf(violation)) AS violations,
       toUInt64(countIf(NOT violation)) AS blocked,
       min(if(violation, time, toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'))) AS first_violation,
       max(if(violation, time, toDateTime64('1970-01-01 00:00:00.000', 3, 'UTC'))) AS last_violation,
       min(if(NOT violation, time, toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'))) AS first_blocked,
       max(toUInt8(violation AND (sensitivity IN ('high', 'critical') OR startsWith(toString(action), 'secret.') OR action = 'data.export'))) AS severe,
       min(if(violation AND pipeline_id != '', (time, event_id, pipeline_id),
              (toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'), '', ''))) AS first_pipeline,
       groupUniqArrayIf(pipeline_id, pipeline_id != '') AS pipelines,
       groupArraySortedStateIf(10)((time, event_id), violation) AS samples
FROM post_revocation_actions
WHERE is_deleted = 0
GROUP BY revocation_id, generation, agent_id, via, layer;

-- Coalesced alert.updated notifications: detection updates the alert row on every batch, but
-- an update that only grows the counts is announced (a history row, which is the webhook outbox)
-- at most once per REVENANT_ALERT_UPDATE_INTERVAL_MS; update_pending marks one that is owed.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS notified_at DateTime64(3, 'UTC') DEFAULT created_at;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS update_pending UInt8 DEFAULT 0;
