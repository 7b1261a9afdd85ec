/** Alert list reads (docs/API.md): filters, newest first by creation, keyset pages. */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Alert } from "../alerts/store";
import { decodeCursor, page } from "../http/cursor";
import { queryRows } from "../store/clickhouse";
import { Conditions } from "./conditions";

export interface AlertFilters {
  status?: string;
  rule?: string;
  severity?: string;
  agent_id?: string;
  pipeline_id?: string;
  revocation_id?: string;
}

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
