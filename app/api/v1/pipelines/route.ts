import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { limitParam } from "@/lib/http/params";
import { listPipelines } from "@/lib/queries/pipelines";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({ q: z.string().max(256).optional(), limit: limitParam(100), cursor: z.string().optional() });

export const GET = apiRoute("viewer", async (req) => {
  const { q, limit, cursor } = parseQuery(req, query);
  return Response.json(await listPipelines(store().reader, q, cursor, limit));
});
