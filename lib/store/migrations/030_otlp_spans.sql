-- OpenTelemetry spans received on the OTLP intakes (lib/otlp/store.ts).
--
-- A tool-call span becomes an action only once its agent is known; when the agent comes from
-- an invoke_agent ancestor, that ancestor may arrive later and in another export. Every span's
-- place in its trace (parent, role, the agent an invoke_agent span stands for) is kept here so
-- that the ancestor walk reads ClickHouse, never process memory, and gives the same answer
-- whatever order the spans arrived in.
--
-- ORDER BY (trace_id, span_id): the walk reads whole traces by prefix, and the key is unique
-- per span, so a redelivered span replaces itself. export_id names the original export
-- message in otlp_exports (below).
CREATE TABLE IF NOT EXISTS otlp_spans
(
    trace_id        String,
    span_id         String,
    parent_span_id  String,
    role            LowCardinality(String),
    name            String,
    service         LowCardinality(String),
    start_time      DateTime64(3, 'UTC'),
    agent_id        String,
    export_id       String,
    received_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (trace_id, span_id);

-- Tool spans waiting for their agent, apart from otlp_spans so that the per-batch lookup of
-- "waiting spans of these traces" reads a table that is empty when every span names its agent.
-- `state` is the version: 0 waiting, replaced by 1 (its action was produced) or 2 (no agent
-- anywhere in its finished ancestry: dead-lettered); a redelivery re-inserting 0 never
-- undoes 1 or 2. `action` is the action (schema v1) without agent_id.
CREATE TABLE IF NOT EXISTS otlp_waiting
(
    trace_id        String,
    span_id         String,
    parent_span_id  String,
    action          String,
    state           UInt8
)
ENGINE = ReplacingMergeTree(state)
ORDER BY (trace_id, span_id);

-- The original OTLP export messages, kept whole for investigators: one row per Kafka message
-- (export_id = topic/partition/offset), the JSON as received or the protobuf in base64.
-- One row per message rather than a copy per span keeps the hot path cheap. Exports holding
-- no tool call or agent span are kept only with OTLP_KEEP_CONTEXT_SPANS.
CREATE TABLE IF NOT EXISTS otlp_exports
(
    export_id    String,
    received_at  DateTime64(3, 'UTC') DEFAULT now64(3),
    encoding     LowCardinality(String),
    payload      String
)
ENGINE = ReplacingMergeTree
ORDER BY export_id;
