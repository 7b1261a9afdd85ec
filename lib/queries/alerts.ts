/** Alert list reads (docs/API.md): filters, newest first by creation, keyset pages. */
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import { ALERT_STATUSES, type Alert } from "../alerts/store";
import { ALERT_RULES, ALERT_SEVERITIES } from "../detection/types";
import { decodeCursor, page } from "../http/cursor";
import { cursorParam, idParam, limitParam } from "../http/params";
import { queryRows } from "../store/clickhouse";
import { Conditions } from "./conditions";

/** GET /api/v1/alerts: parsed by the route, typed by the UI hook (components/data/alerts.ts). */
export const alertListQuery = z.object({
  status: z.enum(ALERT_STATUSES).optional(),
  rule: z.enum(ALERT_RULES).optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  agent_id: idParam.optional(),
  pipeline_id: idParam.optional(),
  revocation_id: idParam.optional(),
  limit: limitParam(100),
  cursor: cursorParam,
});
export type AlertFilters = Omit<z.output<typeof alertListQuery>, "limit" | "cursor">;

export async function listAlerts(client: ClickHouseClient, f: AlertFilters, cursor: string | undefined, limit: number) {
  const c = new Conditions()
    .equals(f, ["status", "rule", "severity", "agent_id", "pipeline_id", "revocation_id"])
    .before("created_at", "id", decodeCursor(cursor));
  const rows = await queryRows<Alert>(
    client,
    "api:alerts",
    `SELECT id, rule, severity, status, revocation_id, agent_id, pipeline_id, layers_enforcing, layers_leaking,
            violation_count, first_violation_at, last_violation_at, sample_event_ids, created_at, updated_at,
            status_changed_at, reopened
     FROM alerts FINAL ${c.where}
     ORDER BY created_at DESC, id DESC LIMIT {limit:UInt32}`,
    { ...c.params, limit: limit + 1 },
  );
  return page(rows, limit, (a) => ({ t: a.created_at, id: a.id }));
}
