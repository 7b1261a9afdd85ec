import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { boolParam, idParam, limitParam } from "@/lib/http/params";
import { listAgents } from "@/lib/queries/agents";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({
  q: z.string().max(256).optional(),
  pipeline_id: idParam.optional(),
  revoked: boolParam.optional(),
  containment: z.enum(["contained", "partial", "uncontained"]).optional(),
  sort: z.enum(["last_seen", "agent_id", "violation_count", "event_count"]).default("last_seen"),
  limit: limitParam(100),
  cursor: z.string().optional(),
});

export const GET = apiRoute("viewer", async (req) => {
  const { limit, cursor, ...filters } = parseQuery(req, query);
  return Response.json(await listAgents(store().reader, filters, cursor, limit));
});
