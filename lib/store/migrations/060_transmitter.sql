-- The SSF transmitter (lib/transmitter/, README.md "Enforcement points"): signing keys, receivers'
-- streams, and the outbox of Security Event Tokens, one row per (stream, jti).

-- Signing keys, newest signs; the JWKS lists every key young enough to have signed a SET
-- that may still be delivered (lib/transmitter/keys.ts).
CREATE TABLE IF NOT EXISTS transmitter_keys
(
    kid          String,
    private_jwk  String,
    public_jwk   String,
    created_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY kid;

-- One stream per receiver, registered by an admin. delivery_method is the RFC 8935 (push) or
-- RFC 8936 (poll) URN; a poll stream's receiver authenticates with a token stored hashed.
-- `layer` names the enforcement layer the receiver is (gateway, tool, …; empty: unknown), so a
-- layer that keeps leaking after its receiver acknowledged can be told apart.
CREATE TABLE IF NOT EXISTS transmitter_streams
(
    stream_id             String,
    aud                   String,
    description           String,
    layer                 LowCardinality(String),
    events_requested      Array(String),
    delivery_method       LowCardinality(String),
    endpoint_url          String,
    authorization_header  String,
    poll_token_hash       String,
    status                LowCardinality(String),
    status_reason         String,
    subjects              Array(String),
    created_at            DateTime64(3, 'UTC'),
    deleted               UInt8,
    version               UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY stream_id;

-- The outbox: a SET is signed once, when its cause is recorded, and its bytes never change, so
-- a retried push or a repeated poll hands out the same jti. state: pending → delivered (push
-- answered 202) | acked (poll acknowledged) | failed (a push refused with 400, or retries out).
CREATE TABLE IF NOT EXISTS transmitter_sets
(
    stream_id        String,
    jti              String,
    txn              String,
    event_type       LowCardinality(String),
    subject          String,
    set_jwt          String,
    created_at       DateTime64(3, 'UTC'),
    state            LowCardinality(String),
    attempts         UInt32,
    next_attempt_at  DateTime64(3, 'UTC'),
    delivered_at     Nullable(DateTime64(3, 'UTC')),
    last_status_code Nullable(UInt16),
    last_error       String,
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (stream_id, jti);
