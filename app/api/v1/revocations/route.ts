import { apiRoute, parseQuery } from "@/lib/http/route";
import { listRevocations, revocationListQuery } from "@/lib/queries/revocations";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute("viewer", async (req) => {
  const { limit, cursor, ...filters } = parseQuery(req, revocationListQuery);
  return Response.json(await listRevocations(store().reader, filters, cursor, limit));
});
