import { audit } from "@/lib/auth/audit";
import { config } from "@/lib/config";
import { badParam } from "@/lib/http/errors";
import { apiRoute, readJson } from "@/lib/http/route";
import { StreamStore, streamInput } from "@/lib/ssf/streams";
import { discover } from "@/lib/ssf/verify";
import { parseAllowlist, SsrfError, vetUrl } from "@/lib/webhooks/ssrf";

export const dynamic = "force-dynamic";

/** GET /api/v1/ssf/streams (admin): SSF streams with their status (SETs accepted, last event, last error). */
export const GET = apiRoute("admin", async () => {
  const streams = new StreamStore();
  const items = await streams.list();
  const status = await streams.status(items.map((s) => s.id));
  return Response.json({ items: items.map((s) => ({ ...s, push_path: pushPath(s.id, s.delivery), status: status.get(s.id) })), next_cursor: null });
});

const pushPath = (id: string, delivery: string) => (delivery === "push" ? `/api/v1/ssf/streams/${id}/push` : null);

/**
 * POST /api/v1/ssf/streams {name, issuer, audience, delivery: push|poll, poll_url?, poll_token?,
 * subject_rules?, enabled?} (admin). The issuer must serve /.well-known/ssf-configuration
 * (checked now). 201 with the stream, its push_path and, for push delivery, the push_token the
 * transmitter must send as a bearer token: shown this once only.
 */
export const POST = apiRoute("admin", async (req, { principal }) => {
  const input = streamInput.parse(await readJson(req));
  const allow = parseAllowlist(config().SSF_ALLOWLIST);
  for (const param of ["issuer", "poll_url"] as const) {
    if (!input[param]) continue;
    try {
      await vetUrl(input[param]!, allow);
    } catch (err) {
      if (err instanceof SsrfError) throw badParam(param, err.message);
      throw err;
    }
  }
  try {
    await discover(input.issuer.replace(/\/$/, ""));
  } catch (err) {
    throw badParam("issuer", `the transmitter's SSF configuration could not be read: ${(err as Error).message}`);
  }
  const { stream, push_token } = await new StreamStore().create(input, principal!.name);
  await audit(principal, "ssf_stream.create", stream.id, { issuer: stream.issuer, delivery: stream.delivery }, req);
  return Response.json({ ...stream, push_path: pushPath(stream.id, stream.delivery), push_token }, { status: 201, headers: { "cache-control": "no-store" } });
});
