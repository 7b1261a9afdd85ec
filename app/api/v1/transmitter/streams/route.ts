import { z } from "zod";
import { audit } from "@/lib/auth/audit";
import { config } from "@/lib/config";
import { badParam } from "@/lib/http/errors";
import { apiRoute, parseQuery, readJson } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";
import { streamIdSchema, streamOr404 } from "@/lib/transmitter/requests";
import { streamConfiguration, streamInput } from "@/lib/transmitter/streams";
import { parseAllowlist, SsrfError, vetUrl } from "@/lib/webhooks/ssrf";

export const dynamic = "force-dynamic";

const byId = z.object({ stream_id: streamIdSchema.optional() });

/** GET /api/v1/transmitter/streams[?stream_id=] (admin): one stream's configuration, or all of them. */
export const GET = apiRoute("admin", async (req) => {
  const { stream_id } = parseQuery(req, byId);
  const ssf = transmitter();
  if (stream_id) return Response.json(streamConfiguration(await streamOr404(stream_id), ssf.issuer));
  return Response.json((await ssf.streams.list()).map((s) => streamConfiguration(s, ssf.issuer)));
});

/**
 * POST /api/v1/transmitter/streams (admin): registers a receiver's stream; 201 with its
 * configuration and, for poll, its token (shown once). A push endpoint that does not resolve to
 * a public address is refused (400, param "delivery.endpoint_url") unless allow-listed
 * (REVENANT_WEBHOOK_ALLOWLIST, as for webhooks): every push to it would fail.
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = streamInput.parse(await readJson(req));
  if (input.delivery.endpoint_url) {
    try {
      input.delivery.endpoint_url = (await vetUrl(input.delivery.endpoint_url, parseAllowlist(config().REVENANT_WEBHOOK_ALLOWLIST))).toString();
    } catch (err) {
      if (err instanceof SsrfError) throw badParam("delivery.endpoint_url", err.message);
      throw err;
    }
  }
  const ssf = transmitter();
  const { stream, pollToken } = await ssf.streams.create(input);
  await audit(principal, "ssf.stream.create", stream.stream_id, { aud: stream.aud, method: stream.delivery_method }, req);
  return Response.json({ ...streamConfiguration(stream, ssf.issuer), ...(pollToken ? { poll_token: pollToken } : {}) }, { status: 201, headers: { "cache-control": "no-store" } });
});

// Strict: a status here would be ignored without a word; it has its own route (streams/status).
const patch = z.object({ stream_id: streamIdSchema, events_requested: z.array(z.string()).min(1).optional(), description: z.string().max(512).optional() }).strict();

/** PATCH /api/v1/transmitter/streams (admin): changes the event types or description. */
export const PATCH = apiRoute("admin", async (req, { principal }) => {
  const change = patch.parse(await readJson(req));
  const ssf = transmitter();
  const stream = await streamOr404(change.stream_id);
  const next = { ...stream, events_requested: change.events_requested ?? stream.events_requested, description: change.description ?? stream.description };
  await ssf.streams.put(next);
  await audit(principal, "ssf.stream.update", stream.stream_id, { events_requested: next.events_requested }, req);
  return Response.json(streamConfiguration(next, ssf.issuer));
});

/** DELETE /api/v1/transmitter/streams?stream_id= (admin): 204; its undelivered SETs are no longer sent. */
export const DELETE = apiRoute("admin", async (req, { principal }) => {
  const { stream_id } = z.object({ stream_id: streamIdSchema }).parse(Object.fromEntries(new URL(req.url).searchParams));
  const stream = await streamOr404(stream_id);
  await transmitter().streams.delete(stream);
  await audit(principal, "ssf.stream.delete", stream_id, {}, req);
  return new Response(null, { status: 204 });
});
