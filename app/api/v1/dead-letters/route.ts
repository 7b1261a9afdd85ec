import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { limitParam } from "@/lib/http/params";
import { deadLetterList } from "@/lib/queries/overview";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** How many messages were dead-lettered, and the latest ones with their reasons. */
export const GET = apiRoute("viewer", async (req) => {
  const { limit } = parseQuery(req, z.object({ limit: limitParam(50) }));
  return Response.json(await deadLetterList(store().reader, limit));
});
