-- Per-agent summary for the agents list and pipeline membership, kept by a materialized
-- view so that listing agents never scans events. AggregatingMergeTree merges the
-- partial states of every insert; readers finish them with -Merge / max / min.
-- Duplicated deliveries inflate event_count until the events table merges them, so the
-- API reports event_count from events FINAL only on the agent's own page.
CREATE TABLE IF NOT EXISTS agent_summary
(
    agent_id     String,
    first_seen   SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen    SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    event_count  SimpleAggregateFunction(sum, UInt64),
    pipelines    SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    layers       SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    -- A count, not a list: a long-lived agent opens sessions without end.
    sessions     AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
ORDER BY agent_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_summary_mv TO agent_summary AS
SELECT agent_id,
       min(time) AS first_seen,
       max(time) AS last_seen,
       toUInt64(count()) AS event_count,
       groupUniqArrayIf(pipeline_id, pipeline_id != '') AS pipelines,
       groupUniqArrayIf(layer, layer != '') AS layers,
       uniqStateIf(session_id, session_id != '') AS sessions
FROM events
WHERE agent_id != ''
GROUP BY agent_id;
