-- People, their sessions, and API keys (docs/ROLES.md). Small tables, read per request
-- through a short in-process cache (lib/auth), written rarely.

-- ORDER BY email: the sign-in lookup is by email, and making it the row identity means two
-- racing creations of the same address converge on one user instead of two.
CREATE TABLE IF NOT EXISTS users
(
    email          String,
    id             String,
    role           LowCardinality(String),
    password_hash  String,
    disabled       Bool,
    created_at     DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC'),
    version        UInt64,
    is_deleted     UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY email;

-- Sessions are keyed by the SHA-256 of the cookie value: a leaked table row cannot be
-- replayed as a cookie. Logout writes a newer version with revoked = 1. Expired sessions
-- are dropped by TTL a day after they stop working.
CREATE TABLE IF NOT EXISTS sessions
(
    token_hash  String,
    user_id     String,
    email       String,
    created_at  DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC'),
    revoked     UInt8,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY token_hash
TTL toDateTime(expires_at) + INTERVAL 1 DAY;

-- API keys: only the SHA-256 of the key is stored (keys are 256-bit random, so a fast
-- hash is enough; passwords get argon2). prefix is the first characters of the key, shown
-- in the UI so people can tell keys apart. Revocation writes a newer version.
CREATE TABLE IF NOT EXISTS api_keys
(
    id          String,
    name        String,
    role        LowCardinality(String),
    key_hash    String,
    prefix      String,
    created_at  DateTime64(3, 'UTC'),
    created_by  String,
    revoked_at  Nullable(DateTime64(3, 'UTC')),
    version     UInt64,
    INDEX idx_key_hash key_hash TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
