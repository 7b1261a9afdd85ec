import { z } from "zod";
import { ApiError } from "@/lib/http/errors";
import { apiRoute, readJson } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";
import { streamIdSchema } from "@/lib/transmitter/requests";
import { POLL, StreamStore } from "@/lib/transmitter/streams";

export const dynamic = "force-dynamic";

const body = z.object({
  ack: z.array(z.string().max(64)).max(1000).default([]),
  setErrs: z.record(z.string().max(64), z.object({ err: z.string().max(64), description: z.string().max(1024).optional() })).default({}),
  maxEvents: z.number().int().min(0).max(1000).default(100),
  // RFC 8936 §2.4: false unless asked, a long poll.
  returnImmediately: z.boolean().default(false),
});

/** How long a long poll (returnImmediately false, the default) waits for a SET before answering with none. */
const LONG_POLL_MS = 10_000;

/**
 * POST /ssf/poll/{stream_id} (RFC 8936): the receiver authenticates with its stream's poll
 * token (Bearer), acknowledges SETs (`ack`) or reports them refused (`setErrs`), and gets up to
 * `maxEvents` pending SETs as `{sets: {jti: SET}, moreAvailable}`. An unacknowledged SET is
 * handed out again on the next poll, with the same jti and bytes.
 */
export const POST = apiRoute<{ stream_id: string }>(null, async (req, { params }) => {
  const id = streamIdSchema.parse(params.stream_id);
  const ssf = transmitter();
  const stream = await ssf.streams.get(id);
  const token = /^Bearer (.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1]?.trim() ?? "";
  if (!stream || stream.delivery_method !== POLL || !StreamStore.pollTokenMatches(stream, token)) {
    throw new ApiError(401, "unauthenticated", "send the stream's poll token as a bearer token");
  }
  const input = body.parse(await readJson(req));
  const closing = [...input.ack.map((jti) => ({ jti, state: "acked" as const })), ...Object.keys(input.setErrs).map((jti) => ({ jti, state: "failed" as const }))];
  if (closing.length) {
    const rows = await ssf.outbox.byJti(id, closing.map((c) => c.jti));
    const now = new Date().toISOString();
    const next = new Map(closing.map((c) => [c.jti, c.state]));
    await ssf.outbox.put(
      rows.filter((r) => r.state === "pending").map((r) => ({ ...r, state: next.get(r.jti)!, delivered_at: now, last_error: input.setErrs[r.jti]?.err ?? "" })),
    );
  }
  const deadline = Date.now() + (input.returnImmediately ? 0 : LONG_POLL_MS);
  let pending = input.maxEvents > 0 && stream.status === "enabled" ? await ssf.outbox.pending([id], input.maxEvents + 1) : [];
  while (pending.length === 0 && Date.now() < deadline && input.maxEvents > 0 && stream.status === "enabled") {
    await new Promise((r) => setTimeout(r, 250));
    pending = await ssf.outbox.pending([id], input.maxEvents + 1);
  }
  const sets = Object.fromEntries(pending.slice(0, input.maxEvents).map((r) => [r.jti, r.set_jwt]));
  return Response.json({ sets, moreAvailable: pending.length > input.maxEvents }, { headers: { "cache-control": "no-store" } });
});
