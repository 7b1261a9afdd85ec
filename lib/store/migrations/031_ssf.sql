-- OpenID Shared Signals (SSF 1.0 / CAEP 1.0) receiver (lib/ssf). Few rows, rarely written.
--
-- Streams are configured by an admin; a row per change, the highest version wins
-- (ReplacingMergeTree(version), readers use FINAL). push_token_hash: only the hash of the
-- bearer token a transmitter must send to the push endpoint is kept. poll_token: the token
-- Revenant sends to the transmitter's poll endpoint; never returned by the API.
CREATE TABLE IF NOT EXISTS ssf_streams
(
    id               String,
    name             String,
    issuer           String,
    audience         String,
    delivery         LowCardinality(String),
    poll_url         String,
    poll_token       String,
    push_token_hash  String,
    subject_rules    String,
    enabled          Bool,
    deleted          Bool DEFAULT false,
    created_at       DateTime64(3, 'UTC'),
    created_by       String,
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- Every accepted Security Event Token, as received (raw JWT) and decoded (claims), with
-- what it became. ORDER BY (stream_id, jti): the replay check reads one key.
-- revocation_event_id links the SET to the revocation event it produced (the revocation's
-- source, shown with it).
CREATE TABLE IF NOT EXISTS ssf_sets
(
    stream_id            String,
    jti                  String,
    iss                  String,
    received_at          DateTime64(3, 'UTC') DEFAULT now64(3),
    delivery             LowCardinality(String),
    event_type           String,
    outcome              LowCardinality(String),
    revocation_event_id  String,
    claims               String,
    raw                  String,
    INDEX idx_revocation revocation_event_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
ORDER BY (stream_id, jti);

-- RFC 8936 poll delivery: the acknowledgements (and setErrs) owed to the transmitter,
-- written before the next poll request sends them, so a restart neither loses nor repeats
-- events: unacknowledged SETs are redelivered and recognised by jti.
CREATE TABLE IF NOT EXISTS ssf_poll_state
(
    stream_id  String,
    acks       Array(String),
    set_errs   String,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY stream_id;

-- Problems met per stream (refused SETs, unreachable transmitter), for the stream's status.
CREATE TABLE IF NOT EXISTS ssf_stream_log
(
    stream_id  String,
    at         DateTime64(3, 'UTC') DEFAULT now64(3),
    kind       LowCardinality(String),
    message    String
)
ENGINE = MergeTree
ORDER BY (stream_id, at)
TTL toDateTime(at) + INTERVAL 30 DAY;
