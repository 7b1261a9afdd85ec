import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { idParam, limitParam, timeParam } from "@/lib/http/params";
import { listRevocations } from "@/lib/queries/revocations";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({
  scope: z.enum(["agent", "session", "credential", "pipeline"]).optional(),
  subject: idParam.optional(),
  containment: z.enum(["contained", "partial", "uncontained"]).optional(),
  agent_id: idParam.optional(),
  pipeline_id: idParam.optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  limit: limitParam(100),
  cursor: z.string().optional(),
});

export const GET = apiRoute("viewer", async (req) => {
  const { limit, cursor, ...filters } = parseQuery(req, query);
  return Response.json(await listRevocations(store().reader, filters, cursor, limit));
});
