import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { ApiError } from "@/lib/http/errors";
import { boolParam, idParam, limitParam, timeParam } from "@/lib/http/params";
import { audit, roleAtLeast } from "@/lib/auth";
import { exportStream, listPairs } from "@/lib/queries/post-revocation";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({
  agent_id: idParam.optional(),
  pipeline_id: idParam.optional(),
  credential_id: idParam.optional(),
  session_id: idParam.optional(),
  revocation_id: idParam.optional(),
  layer: z.string().min(1).max(64).optional(),
  decision: z.enum(["allow", "deny", "unknown"]).optional(),
  violation: boolParam.optional(),
  via: z.enum(["direct", "cascade"]).optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  format: z.enum(["json", "ndjson", "csv"]).default("json"),
  limit: limitParam(100),
  cursor: z.string().optional(),
});

/**
 * Covered actions after revocation, one row per (action, revocation) pair. JSON pages for
 * viewers; format=ndjson|csv streams the whole result (investigator and above, docs/ROLES.md).
 */
export const GET = apiRoute("viewer", async (req, { principal }) => {
  const { format, limit, cursor, ...filters } = parseQuery(req, query);
  if (format === "json") return Response.json(await listPairs(store().reader, filters, cursor, limit));
  if (!principal || !roleAtLeast(principal.role, "investigator")) throw new ApiError(403, "forbidden", "exports need the investigator role");
  await audit(principal, "export", `post-revocation-actions.${format}`, { filters }, req);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return new Response(exportStream(store().reader, filters, format), {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
      "content-disposition": `attachment; filename="post-revocation-actions-${stamp}.${format}"`,
      "cache-control": "no-store",
    },
  });
});
