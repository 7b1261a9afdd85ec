-- Detection output (docs/SEMANTICS.md). Every table here is derived from events and rewritten by
-- re-evaluation, so each is a ReplacingMergeTree keyed by its identity and versioned by
-- the evaluation that wrote it; readers use FINAL.

-- Post-revocation actions, one row per (revocation, action) pair. A re-evaluation that drops
-- a pair (a late reinstatement shrank the window) writes a tombstone (is_deleted = 1) in the
-- same insert as the new rows, so there is no moment where a revocation has no rows.
-- ORDER BY (revocation_id, event_id): the pair's identity; per-agent and export reads are
-- served by the bloom indexes (the table holds only post-revocation actions: small).
CREATE TABLE IF NOT EXISTS post_revocation_actions
(
    revocation_id  String,
    event_id       String,
    version        UInt64,
    is_deleted     UInt8,
    violation      Bool,
    via            LowCardinality(String),
    time           DateTime64(3, 'UTC'),
    agent_id       String,
    pipeline_id    String,
    session_id     String,
    credential_id  String,
    layer          LowCardinality(String),
    action         LowCardinality(String),
    resource       String,
    decision       LowCardinality(String),
    sensitivity    LowCardinality(String),
    INDEX idx_agent_id      agent_id      TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_pipeline_id   pipeline_id   TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_credential_id credential_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_session_id    session_id    TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (revocation_id, event_id);

-- One summary row per revocation: containment, per-layer status, propagation delay.
CREATE TABLE IF NOT EXISTS revocation_status
(
    event_id         String,
    version          UInt64,
    time             DateTime64(3, 'UTC'),
    scope            LowCardinality(String),
    subject          String,
    cascade          Bool,
    reason           String,
    initiated_by     String,
    reinstated_at    Nullable(DateTime64(3, 'UTC')),
    containment      LowCardinality(String),
    layers           Map(String, String),
    propagation_ms   Map(String, Int64),
    violation_count  UInt64,
    blocked_count    UInt64,
    agents           Array(String),
    pipelines        Array(String),
    evaluated_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY event_id;

-- Alerts: the derived content (rule, counts, layers) plus the analyst-owned status.
-- ORDER BY id: the stable id from the dedup key; every change writes a new version.
CREATE TABLE IF NOT EXISTS alerts
(
    id                  String,
    version             UInt64,
    rule                LowCardinality(String),
    severity            LowCardinality(String),
    status              LowCardinality(String),
    revocation_id       String,
    agent_id            Nullable(String),
    pipeline_id         Nullable(String),
    layers_enforcing    Array(String),
    layers_leaking      Array(String),
    violation_count     UInt64,
    first_violation_at  DateTime64(3, 'UTC'),
    last_violation_at   DateTime64(3, 'UTC'),
    sample_event_ids    Array(String),
    created_at          DateTime64(3, 'UTC'),
    updated_at          DateTime64(3, 'UTC'),
    status_changed_at   DateTime64(3, 'UTC'),
    reopened            Bool,
    is_deleted          UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY id;

-- Alert history: every state change (raised, updated, acknowledged, resolved, reopened,
-- withdrawn), append-only, ordered for "history of alert X".
CREATE TABLE IF NOT EXISTS alert_history
(
    alert_id         String,
    at               DateTime64(3, 'UTC'),
    seq              UInt64,
    kind             LowCardinality(String),
    from_status      LowCardinality(String),
    to_status        LowCardinality(String),
    actor            String,
    comment          String,
    violation_count  UInt64
)
ENGINE = MergeTree
ORDER BY (alert_id, at, seq);
