-- Verification on request (SSF 1.0, "Verification"): Revenant, as receiver, asks the
-- transmitter's verification_endpoint to send a verification event carrying a `state` it
-- chose, and shows whether that event came back (lib/ssf/verification.ts).
--
-- transmitter_stream_id: the stream's id at the transmitter, which the request names.
-- transmitter_token: the bearer token for the transmitter's management API; like poll_token,
-- never returned by the API.
ALTER TABLE ssf_streams ADD COLUMN IF NOT EXISTS transmitter_stream_id String DEFAULT '';
ALTER TABLE ssf_streams ADD COLUMN IF NOT EXISTS transmitter_token String DEFAULT '';

-- One row per request. The answer is the verification SET (ssf_sets, outcome 'verification')
-- whose event carries the request's state.
CREATE TABLE IF NOT EXISTS ssf_verification_requests
(
    stream_id     String,
    state         String,
    requested_at  DateTime64(3, 'UTC'),
    requested_by  String
)
ENGINE = MergeTree
ORDER BY (stream_id, requested_at);
