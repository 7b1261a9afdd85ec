import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { idParam, limitParam } from "@/lib/http/params";
import { ALERT_RULES, ALERT_SEVERITIES } from "@/lib/detection/types";
import { ALERT_STATUSES } from "@/lib/alerts/store";
import { listAlerts } from "@/lib/queries/alerts";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({
  status: z.enum(ALERT_STATUSES).optional(),
  rule: z.enum(ALERT_RULES).optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  agent_id: idParam.optional(),
  pipeline_id: idParam.optional(),
  revocation_id: idParam.optional(),
  limit: limitParam(100),
  cursor: z.string().optional(),
});

export const GET = apiRoute("viewer", async (req) => {
  const { limit, cursor, ...filters } = parseQuery(req, query);
  return Response.json(await listAlerts(store().reader, filters, cursor, limit));
});
