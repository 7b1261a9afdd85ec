import { apiRoute, parseQuery } from "@/lib/http/route";
import { agentTimeline, timelineQuery } from "@/lib/queries/agents";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** The agent's events, newest first, each with its post-revocation flags, and the revocations that touch it. */
export const GET = apiRoute<{ agent_id: string }>("viewer", async (req, { params }) => {
  const { from, to, limit, cursor } = parseQuery(req, timelineQuery);
  return Response.json(await agentTimeline(store().reader, params.agent_id, { from, to }, cursor, limit));
});
