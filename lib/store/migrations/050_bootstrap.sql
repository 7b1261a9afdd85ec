-- One-time set-up steps that must never run twice (lib/auth/bootstrap.ts): once the first
-- admin has been created from the environment, a row here says so for good.
CREATE TABLE IF NOT EXISTS bootstrap_state
(
    step    String,
    detail  String,
    at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY step;
