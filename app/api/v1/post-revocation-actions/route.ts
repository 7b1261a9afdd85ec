import { apiRoute, parseQuery } from "@/lib/http/route";
import { ApiError } from "@/lib/http/errors";
import { audit, roleAtLeast } from "@/lib/auth";
import { exportStream, listPairs, pairListQuery } from "@/lib/queries/post-revocation";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/**
 * Covered actions after revocation, one row per (action, revocation) pair. JSON pages for
 * viewers; format=ndjson|csv streams the whole result (investigator and above, docs/ROLES.md).
 */
export const GET = apiRoute("viewer", async (req, { principal }) => {
  const { format, limit, cursor, ...filters } = parseQuery(req, pairListQuery);
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
