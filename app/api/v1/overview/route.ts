import { z } from "zod";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { timeParam } from "@/lib/http/params";
import { badParam } from "@/lib/http/errors";
import { overview } from "@/lib/queries/overview";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const query = z.object({ from: timeParam.optional(), to: timeParam.optional() });

/** Counts and series for the overview page; default range: the last 24 hours. */
export const GET = apiRoute("viewer", async (req) => {
  const q = parseQuery(req, query);
  const to = q.to ?? new Date().toISOString();
  const from = q.from ?? new Date(Date.parse(to) - 24 * 3600_000).toISOString();
  if (from >= to) throw badParam("from", "must be before to");
  return Response.json(await overview(store().reader, from, to));
});
