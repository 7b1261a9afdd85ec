/** A synthetic store of incident size for bench:reads, built inside the engine (INSERT … SELECT). */
import type { ClickHouseClient } from "@clickhouse/client";
import { command } from "@/lib/store/clickhouse";

const T0 = "toDateTime64('2026-10-01 00:00:00', 3, 'UTC')";

export interface ReadStoreSize {
  events: number;
  agents: number;
  revocations: number;
  pairsPerRevocation: number;
}

/**
 * Fills an empty, migrated store with synthetic telemetry and detection output (see
 * bench/reads-run.ts for the shape). The detection tables are written directly: this
 * measures reads, not detection.
 */
export async function seedReadStore(writer: ClickHouseClient, size: ReadStoreSize): Promise<void> {
  const { events: EVENTS, agents: AGENTS, revocations: REVOCATIONS, pairsPerRevocation: PAIRS_PER_REVOCATION } = size;
  const PIPELINES = Math.max(1, Math.round(AGENTS / 10));
  const run = (query: string) => command(writer, "bench:reads-seed", query);
  // Each agent acts throughout the week; one in twenty actions is denied.
  await run(`INSERT INTO events (event_id, type, time, agent_id, pipeline_id, session_id, credential_id, layer, action, resource, decision)
    SELECT concat('seed-', toString(number)), 'action', ${T0} + toIntervalMillisecond(intDiv(number * 604800000, ${EVENTS})),
           concat('agent-', toString(number % ${AGENTS})), concat('pipeline-', toString(number % ${AGENTS} % ${PIPELINES})),
           concat('sess-', toString(number % ${AGENTS}), '-', toString(intDiv(number, 50000))), concat('tok-', toString(number % ${AGENTS})),
           ['gateway', 'tool', 'saas', 'secret_store'][number % 4 + 1], 'execute_tool', 'tool://search', if(number % 20 = 0, 'deny', 'allow')
    FROM numbers(${EVENTS})`);
  // Revocation n names agent (7n mod A) (scope agent, credential) or a pipeline; the named
  // agent and a delegated sub-agent (13n mod A) keep acting under it.
  const agentOf = (n: string) => `concat('agent-', toString(${n} * 7 % ${AGENTS}))`;
  const subAgentOf = (n: string) => `concat('agent-', toString(${n} * 13 % ${AGENTS}))`;
  await run(`INSERT INTO revocation_status (event_id, version, time, scope, subject, cascade, reason, initiated_by, reinstated_at, containment,
      violation_count, blocked_count, agents, pipelines, evaluated_at)
    SELECT concat('rev-', toString(number)), 1, ${T0} + toIntervalSecond(60 + number * 60) AS t,
           multiIf(number % 10 < 6, 'agent', number % 10 < 9, 'credential', 'pipeline') AS scope,
           multiIf(scope = 'agent', ${agentOf("number")}, scope = 'credential', concat('tok-', toString(number * 7 % ${AGENTS})),
                   concat('pipeline-', toString(number % ${PIPELINES}))),
           true, 'bench', 'bench', if(number % 5 = 0, t + toIntervalDay(1), NULL), ['contained', 'partial', 'uncontained'][number % 3 + 1],
           ${PAIRS_PER_REVOCATION} - intDiv(${PAIRS_PER_REVOCATION}, 3), intDiv(${PAIRS_PER_REVOCATION}, 3),
           arraySort(arrayDistinct([${agentOf("number")}, ${subAgentOf("number")}])),
           arraySort(arrayDistinct([concat('pipeline-', toString(number * 7 % ${AGENTS} % ${PIPELINES})), concat('pipeline-', toString(number * 13 % ${AGENTS} % ${PIPELINES}))])),
           now64(3)
    FROM numbers(${REVOCATIONS})`);
  await run(`INSERT INTO post_revocation_actions (revocation_id, event_id, version, is_deleted, violation, via, time, agent_id, pipeline_id, layer, action, decision)
    SELECT concat('rev-', toString(intDiv(number, ${PAIRS_PER_REVOCATION}))) AS r, concat('seed-', toString(number)), 1, 0, number % 3 != 0,
           if(number % 2 = 0, 'direct', 'cascade'), ${T0} + toIntervalSecond(120 + intDiv(number, ${PAIRS_PER_REVOCATION}) * 60 + number % ${PAIRS_PER_REVOCATION}),
           if(number % 2 = 0, ${agentOf(`intDiv(number, ${PAIRS_PER_REVOCATION})`)}, ${subAgentOf(`intDiv(number, ${PAIRS_PER_REVOCATION})`)}), '', 'tool', 'execute_tool',
           if(number % 3 = 0, 'deny', 'allow')
    FROM numbers(${REVOCATIONS * PAIRS_PER_REVOCATION})`);
  await run(`INSERT INTO alerts (id, version, rule, severity, status, revocation_id, agent_id, pipeline_id, violation_count, first_violation_at,
      last_violation_at, created_at, updated_at, status_changed_at, reopened, is_deleted)
    SELECT concat('al_', toString(number)), 1, 'post_revocation_activity', 'high', 'open', concat('rev-', toString(number)), ${agentOf("number")}, NULL,
           ${PAIRS_PER_REVOCATION}, ${T0} + toIntervalSecond(120 + number * 60) AS t, t + toIntervalSecond(60), t, t, t, false, 0
    FROM numbers(${REVOCATIONS})`);
}

