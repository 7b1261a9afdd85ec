import { audit } from "@/lib/auth/audit";
import { apiRoute, readJson } from "@/lib/http/route";
import { pushPath, StreamStore, streamInput } from "@/lib/ssf/streams";
import { vetStreamUrls } from "@/lib/ssf/vet";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/ssf/streams (admin): SSF streams with their status (SETs accepted, last event, last error). */
export const GET = apiRoute("admin", async () => {
  const streams = new StreamStore(store().reader, store().writer);
  const items = await streams.list();
  const status = await streams.status(items.map((s) => s.id));
  return Response.json({ items: items.map((s) => ({ ...s, push_path: pushPath(s.id, s.delivery), status: status.get(s.id) })), next_cursor: null });
});

/**
 * POST /api/v1/ssf/streams {name, issuer, audience, delivery: push|poll, poll_url?, poll_token?,
 * subject_rules?, enabled?} (admin). The issuer must serve /.well-known/ssf-configuration
 * (checked now). 201 with the stream, its push_path and, for push delivery, the push_token the
 * transmitter must send as a bearer token: shown this once only.
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = streamInput.parse(await readJson(req));
  await vetStreamUrls(input);
  const { stream, push_token } = await new StreamStore(store().reader, store().writer).create(input, principal!.name);
  await audit(principal, "ssf_stream.create", stream.id, { issuer: stream.issuer, delivery: stream.delivery }, req);
  return Response.json({ ...stream, push_path: pushPath(stream.id, stream.delivery), push_token }, { status: 201, headers: { "cache-control": "no-store" } });
});
