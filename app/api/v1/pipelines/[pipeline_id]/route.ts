import { apiRoute } from "@/lib/http/route";
import { notFound } from "@/lib/http/errors";
import { getPipeline } from "@/lib/queries/pipelines";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ pipeline_id: string }>("viewer", async (_req, { params }) => {
  const pipeline = await getPipeline(store().reader, params.pipeline_id);
  if (!pipeline) throw notFound("pipeline");
  return Response.json(pipeline);
});
