-- Who did what (sign-ins, alert status changes, exports, webhook, key and user changes).
-- Append-only; ORDER BY at for "newest first", partitioned by month for retention.
CREATE TABLE IF NOT EXISTS audit_log
(
    at          DateTime64(3, 'UTC'),
    id          String,
    actor_kind  LowCardinality(String),
    actor_id    String,
    actor_name  String,
    action      LowCardinality(String),
    target      String,
    details     String,
    ip          String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, id);
