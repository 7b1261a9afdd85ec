import { audit } from "@/lib/auth/audit";
import { notFound } from "@/lib/http/errors";
import { apiRoute } from "@/lib/http/route";
import { StreamStore } from "@/lib/ssf/streams";

export const dynamic = "force-dynamic";

/** GET /api/v1/ssf/streams/{id} (admin): the stream and its status. */
export const GET = apiRoute<{ id: string }>("admin", async (_req, { params }) => {
  const streams = new StreamStore();
  const s = await streams.get(params.id);
  if (!s) throw notFound("SSF stream");
  return Response.json({ ...s, status: (await streams.status([s.id])).get(s.id) });
});

/** DELETE /api/v1/ssf/streams/{id} (admin): stops accepting its SETs; the SETs kept stay. */
export const DELETE = apiRoute<{ id: string }>("admin", async (req, { principal, params }) => {
  if (!(await new StreamStore().delete(params.id))) throw notFound("SSF stream");
  await audit(principal, "ssf_stream.delete", params.id, {}, req);
  return new Response(null, { status: 204 });
});
