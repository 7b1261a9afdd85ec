import { apiRoute } from "@/lib/http/route";
import { notFound } from "@/lib/http/errors";
import { getAgent } from "@/lib/queries/agents";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ agent_id: string }>("viewer", async (_req, { params }) => {
  const agent = await getAgent(store().reader, params.agent_id);
  if (!agent) throw notFound("agent");
  return Response.json(agent);
});
