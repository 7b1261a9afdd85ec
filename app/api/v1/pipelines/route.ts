import { apiRoute, parseQuery } from "@/lib/http/route";
import { listPipelines, pipelineListQuery } from "@/lib/queries/pipelines";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute("viewer", async (req) => {
  const { q, limit, cursor } = parseQuery(req, pipelineListQuery);
  return Response.json(await listPipelines(store().reader, q, cursor, limit));
});
