import { apiRoute, parseQuery } from "@/lib/http/route";
import { alertListQuery, listAlerts } from "@/lib/queries/alerts";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute("viewer", async (req) => {
  const { limit, cursor, ...filters } = parseQuery(req, alertListQuery);
  return Response.json(await listAlerts(store().reader, filters, cursor, limit));
});
