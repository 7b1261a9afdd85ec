import { z } from "zod";
import { notFound } from "@/lib/http/errors";
import { apiRoute, parseQuery } from "@/lib/http/route";
import { keptExport } from "@/lib/otlp/exports";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/**
 * GET /api/v1/otlp-exports?id= (viewer): the OTLP export a tool call came in, named by the
 * action's otel.export_id attribute (docs/INTAKES.md, "OpenTelemetry"), as received and decoded.
 */
export const GET = apiRoute("viewer", async (req) => {
  const { id } = parseQuery(req, z.object({ id: z.string().min(1).max(512) }));
  const kept = await keptExport(store().reader, id);
  if (!kept) throw notFound("OTLP export");
  return Response.json(kept);
});
