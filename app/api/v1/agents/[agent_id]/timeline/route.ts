import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { limitParam, timeParam } from "@/lib/http/params";
import { agentTimeline } from "@/lib/queries/agents";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({ from: timeParam.optional(), to: timeParam.optional(), limit: limitParam(500), cursor: z.string().optional() });

/** The agent's events, newest first, each with its post-revocation flags, and the revocations that touch it. */
export const GET = apiRoute<{ agent_id: string }>("viewer", async (req, { params }) => {
  const { from, to, limit, cursor } = parseQuery(req, query);
  return Response.json(await agentTimeline(store().reader, decodeURIComponent(params.agent_id), { from, to }, cursor, limit));
});
