import { audit } from "@/lib/auth/audit";
import { notFound } from "@/lib/http/errors";
import { apiRoute, readJson } from "@/lib/http/route";
import { pushPath, StreamStore, streamPatch } from "@/lib/ssf/streams";
import { vetStreamUrls } from "@/lib/ssf/vet";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** GET /api/v1/ssf/streams/{id} (admin): the stream and its status. */
export const GET = apiRoute<{ id: string }>("admin", async (_req, { params }) => {
  const streams = new StreamStore(store().reader, store().writer);
  const s = await streams.get(params.id);
  if (!s) throw notFound("SSF stream");
  return Response.json({ ...s, push_path: pushPath(s.id, s.delivery), status: (await streams.status([s.id])).get(s.id) });
});

/**
 * PATCH /api/v1/ssf/streams/{id} {name?, issuer?, audience?, delivery?, poll_url?, poll_token?,
 * subject_rules?, enabled?, rotate_push_token?} (admin): changes only what the body names.
 * A new issuer or poll URL is checked as at creation. The answer is the stream with its
 * status, and push_token when a new one was made (switch to push delivery, or
 * rotate_push_token): shown this once; the old token stops working at once.
 */
export const PATCH = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const change = streamPatch.parse(await readJson(req));
  const streams = new StreamStore(store().reader, store().writer);
  const current = await streams.get(params.id);
  if (!current) throw notFound("SSF stream");
  await vetStreamUrls({
    issuer: change.issuer !== undefined && change.issuer !== current.issuer ? change.issuer : undefined,
    poll_url: change.poll_url !== undefined && change.poll_url !== current.poll_url ? change.poll_url : undefined,
  });
  // Which settings changed, not their values: poll_token is a secret, the rest is in the stream.
  const updated = await streams.update(params.id, change, () =>
    audit(principal, "ssf_stream.update", params.id, { fields: Object.keys(change) }, req, { required: true }),
  );
  if (!updated) throw notFound("SSF stream");
  const { stream, push_token } = updated;
  return Response.json(
    { ...stream, push_path: pushPath(stream.id, stream.delivery), status: (await streams.status([stream.id])).get(stream.id), push_token },
    { headers: { "cache-control": "no-store" } },
  );
});

/** DELETE /api/v1/ssf/streams/{id} (admin): stops accepting its SETs; the SETs kept stay. */
export const DELETE = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  const streams = new StreamStore(store().reader, store().writer);
  if (!(await streams.get(params.id))) throw notFound("SSF stream");
  await audit(principal, "ssf_stream.delete", params.id, {}, req, { required: true });
  if (!(await streams.delete(params.id))) throw notFound("SSF stream");
  return new Response(null, { status: 204 });
});
