-- Webhook endpoints, deliveries and attempts (docs/WEBHOOKS.md). The outbox is alert_history
-- (002_detection.sql); the dispatcher (lib/webhooks/dispatcher/) turns each change into
-- one delivery per matching endpoint, recorded here before anything is sent.

-- The signing secret is kept as is: HMAC needs it. It leaves the API only once, at creation.
CREATE TABLE IF NOT EXISTS webhook_endpoints
(
    id            String,
    url           String,
    secret        String,
    description   String,
    min_severity  LowCardinality(String),
    rules         Array(String),
    pipelines     Array(String),
    enabled       Bool,
    created_at    DateTime64(3, 'UTC'),
    created_by    String,
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY id;

-- One row per (endpoint, alert change); id is the webhook-id, derived from
-- (endpoint, alert_id, seq) so that re-reading the outbox recreates the same delivery.
-- The first row's version is the change's seq and every later state a higher version, so
-- a duplicate creation can never overwrite a delivery that already progressed.
-- ORDER BY (endpoint_id, id): "deliveries of endpoint E" is a prefix read.
-- Finished deliveries are kept 30 days.
CREATE TABLE IF NOT EXISTS webhook_deliveries
(
    endpoint_id       String,
    id                String,
    alert_id          String,
    seq               UInt64,
    type              LowCardinality(String),
    payload           String,
    status            LowCardinality(String),
    attempts          UInt32,
    created_at        DateTime64(3, 'UTC'),
    change_at         DateTime64(3, 'UTC'),
    next_attempt_at   DateTime64(3, 'UTC'),
    first_sent_at     Nullable(DateTime64(3, 'UTC')),
    delivered_at      Nullable(DateTime64(3, 'UTC')),
    last_status_code  Nullable(UInt16),
    last_error        String,
    last_duration_ms  Nullable(UInt32),
    version           UInt64,
    INDEX idx_status status TYPE set(4) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (endpoint_id, id)
TTL toDateTime(created_at) + INTERVAL 30 DAY WHERE status != 'pending';

-- Every attempt, append-only: what the UI shows per endpoint.
CREATE TABLE IF NOT EXISTS webhook_attempts
(
    endpoint_id  String,
    delivery_id  String,
    attempt      UInt32,
    at           DateTime64(3, 'UTC'),
    duration_ms  UInt32,
    status_code  Nullable(UInt16),
    error        String,
    outcome      LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (endpoint_id, delivery_id, attempt, at)
TTL toDateTime(at) + INTERVAL 30 DAY;

-- The dispatcher's position in alert_history (highest seq turned into deliveries).
CREATE TABLE IF NOT EXISTS webhook_cursor
(
    name     String,
    seq      UInt64,
    version  UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name;

-- The dispatcher reads alert_history by seq; a min-max index lets it skip old parts.
ALTER TABLE alert_history ADD INDEX IF NOT EXISTS idx_seq seq TYPE minmax GRANULARITY 1;
