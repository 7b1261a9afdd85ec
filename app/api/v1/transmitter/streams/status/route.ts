import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { apiRoute, parseQuery, readJson } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";
import { streamIdSchema, streamOr404 } from "@/lib/transmitter/requests";

export const dynamic = "force-dynamic";

/** GET /api/v1/transmitter/streams/status?stream_id= (admin): {stream_id, status, reason}. */
export const GET = apiRoute("admin", async (req) => {
  const { stream_id } = parseQuery(req, z.object({ stream_id: streamIdSchema }));
  const s = await streamOr404(stream_id);
  return Response.json({ stream_id, status: s.status, reason: s.status_reason || undefined });
});

const body = z.object({ stream_id: streamIdSchema, status: z.enum(["enabled", "paused", "disabled"]), reason: z.string().max(512).optional() });

/**
 * POST /api/v1/transmitter/streams/status (admin): enables, pauses or disables a stream. A paused
 * stream's SETs are held and delivered once it is enabled again; a disabled stream gets none.
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = body.parse(await readJson(req));
  const s = await streamOr404(input.stream_id);
  await transmitter().streams.put({ ...s, status: input.status, status_reason: input.reason ?? "" });
  await audit(principal, "ssf.stream.status", s.stream_id, { status: input.status }, req);
  return Response.json({ stream_id: s.stream_id, status: input.status, reason: input.reason });
});
