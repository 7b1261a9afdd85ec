import { audit } from "@/lib/auth/audit";
import { notFound } from "@/lib/http/errors";
import { apiRoute } from "@/lib/http/route";
import { StreamStore } from "@/lib/ssf/streams";
import { requestVerification } from "@/lib/ssf/verification";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/**
 * POST /api/v1/ssf/streams/{id}/verify (admin): asks the stream's transmitter for a
 * verification event (SSF 1.0, "Verification"; lib/ssf/verification.ts). 202 with the state
 * sent; the stream's status shows when the event carrying it arrives.
 */
export const POST = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const streams = new StreamStore(store().reader, store().writer);
  const stream = await streams.get(params.id);
  if (!stream) throw notFound("SSF stream");
  await audit(principal, "ssf_stream.verify", stream.id, {}, req, { required: true });
  const request = await requestVerification(store().writer, stream, await streams.transmitterToken(stream.id), principal!.name);
  return Response.json(request, { status: 202 });
});
