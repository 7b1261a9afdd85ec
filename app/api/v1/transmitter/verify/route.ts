import { z } from "zod";
import { apiRoute, readJson } from "@/lib/http/route";
import { transmitter } from "@/lib/transmitter";
import { wakePush } from "@/lib/transmitter/signals";
import { streamIdSchema, streamOr404 } from "@/lib/transmitter/requests";

export const dynamic = "force-dynamic";

const body = z.object({ stream_id: streamIdSchema, state: z.string().max(1024).optional() });

/** POST /api/v1/transmitter/verify (admin): 204, and a verification SET carrying `state` goes out on the stream. */
export const POST = apiRoute("admin", async (req) => {
  const { stream_id, state } = body.parse(await readJson(req));
  await transmitter().outbox.enqueueVerification(await streamOr404(stream_id), state);
  wakePush();
  return new Response(null, { status: 204 });
});
