-- When a revocation's counters last changed: the version (lib/store/version.ts) of the newest
-- pair folded into them. Detection publishes summaries and alerts off the batch path
-- (lib/detection/publisher.ts); at start, a revocation whose counters are newer than its
-- summary (revocation_status.version) was not published before a crash and is published again.
ALTER TABLE revocation_counters ADD COLUMN IF NOT EXISTS touched_version SimpleAggregateFunction(max, UInt64) DEFAULT 0;

-- The view is created again with the new column (a view's query cannot be altered in place).
-- Migrations run before the worker consumes, so no pair is inserted in between.
DROP VIEW IF EXISTS revocation_counters_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS revocation_counters_mv TO revocation_counters AS
SELECT revocation_id, generation, agent_id, via, layer,
       toUInt64(countIf(violation)) AS violations,
       toUInt64(countIf(NOT violation)) AS blocked,
       min(if(violation, time, toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'))) AS first_violation,
       max(if(violation, time, toDateTime64('1970-01-01 00:00:00.000', 3, 'UTC'))) AS last_violation,
       min(if(NOT violation, time, toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'))) AS first_blocked,
       max(toUInt8(violation AND (sensitivity IN ('high', 'critical') OR startsWith(toString(action), 'secret.') OR action = 'data.export'))) AS severe,
       min(if(violation AND pipeline_id != '', (time, event_id, pipeline_id),
              (toDateTime64('2299-12-31 23:59:59.999', 3, 'UTC'), '', ''))) AS first_pipeline,
       groupUniqArrayIf(pipeline_id, pipeline_id != '') AS pipelines,
       groupArraySortedStateIf(10)((time, event_id), violation) AS samples,
       toUInt64(max(version)) AS touched_version
FROM post_revocation_actions
WHERE is_deleted = 0
GROUP BY revocation_id, generation, agent_id, via, layer;
