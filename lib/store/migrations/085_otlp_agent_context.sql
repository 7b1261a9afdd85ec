-- Where an agent's timeline finds its OpenTelemetry context (lib/queries/agent-context.ts):
-- the spans that are not tool calls (invoke_agent spans, model calls, steps), shown beside the
-- agent's actions. otlp_spans is ordered by trace; this keeps, per agent and start time, the
-- traces in which a span that is not a tool call names the agent (an invoke_agent span, or a
-- span whose own or resource attributes carry gen_ai.agent.id). The timeline reads those
-- traces whole and attributes each context span to its nearest invoke_agent ancestor, as the
-- tool calls are: at read time, from what is stored, so whatever order the spans arrived in.
CREATE TABLE IF NOT EXISTS otlp_agent_traces
(
    agent_id    String,
    start_time  DateTime64(3, 'UTC'),
    trace_id    String
)
ENGINE = ReplacingMergeTree
ORDER BY (agent_id, start_time, trace_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS otlp_agent_traces_mv TO otlp_agent_traces AS
SELECT agent_id, start_time, trace_id FROM otlp_spans WHERE agent_id != '' AND role != 'tool';

-- The invoke_agent spans stored before this view existed.
INSERT INTO otlp_agent_traces SELECT agent_id, start_time, trace_id FROM otlp_spans FINAL WHERE agent_id != '' AND role = 'agent';
