import { apiRoute, parseQuery } from "@/lib/http/route";
import { agentListQuery, listAgents } from "@/lib/queries/agents";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute("viewer", async (req) => {
  const { limit, cursor, ...filters } = parseQuery(req, agentListQuery);
  return Response.json(await listAgents(store().reader, filters, cursor, limit));
});
