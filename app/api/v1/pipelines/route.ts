import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { limitParam } from "@/lib/http/params";
import { decodeCursor, page } from "@/lib/http/cursor";
import { listPipelines } from "@/lib/queries/pipelines";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({ q: z.string().max(256).optional(), limit: limitParam(100), cursor: z.string().optional() });

export const GET = apiRoute("viewer", async (req) => {
  const { q, limit, cursor } = parseQuery(req, query);
  const after = decodeCursor(cursor);
  let items = await listPipelines(store().reader, q);
  if (after) items = items.filter((p) => p.last_seen < after.t || (p.last_seen === after.t && p.pipeline_id < after.id));
  return Response.json(page(items.slice(0, limit + 1), limit, (p) => ({ t: p.last_seen, id: p.pipeline_id })));
});
