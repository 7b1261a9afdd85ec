import { ApiError } from "@/lib/http/errors";
import { apiRoute, readBytes } from "@/lib/http/route";
import { logger } from "@/lib/log";
import { receiveSet, streamErrorOf } from "@/lib/ssf/receive";
import { StreamStore } from "@/lib/ssf/streams";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

/** A SET is small; anything much larger is not one. */
const MAX_SET_BYTES = 64 * 1024;

const setError = (status: number, err: string, description: string) =>
  Response.json({ err, description }, { status, headers: { "cache-control": "no-store" } });

/**
 * POST /api/v1/ssf/streams/{id}/push: RFC 8935 push delivery of one SET
 * (Content-Type application/secevent+jwt). Not behind a Revenant role: the transmitter
 * authenticates with the stream's push token (Authorization: Bearer) and the SET's
 * signature. Answers 202 (accepted), 400 {err, description} (refused, per RFC 8935),
 * 401 (no or wrong push token), 404 (no such push stream), 413 (larger than a SET), 503 (try
 * again later: also when the stream cannot be looked up now), every error as {err, description}.
 */
const receive = apiRoute<{ id: string }>(null, async (req, { params }) => {
  const streams = new StreamStore(store().reader, store().writer);
  const auth = req.headers.get("authorization") ?? "";
  const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  let stream;
  let tokenMatches = false;
  try {
    stream = await streams.get(params.id);
    if (stream && token) tokenMatches = await streams.pushTokenMatches(stream.id, token);
  } catch (err) {
    logger().error({ stream: params.id, err: (err as Error).message }, "push stream not looked up");
    return setError(503, "temporarily_unavailable", "the stream cannot be looked up now; deliver the SET again later");
  }
  if (!stream || stream.delivery !== "push" || !stream.enabled) return setError(404, "invalid_request", "no such push stream");
  if (!tokenMatches) {
    return Response.json({ err: "authentication_failed", description: "send the stream's push token as a bearer token" }, { status: 401, headers: { "www-authenticate": "Bearer" } });
  }
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/secevent+jwt") return setError(400, "invalid_request", "Content-Type must be application/secevent+jwt");
  let jwt: string;
  try {
    jwt = (await readBytes(req, MAX_SET_BYTES)).toString("utf8").trim();
  } catch (err) {
    if (err instanceof ApiError && err.status === 413) return setError(413, "invalid_request", err.message);
    throw err;
  }
  let r;
  try {
    r = await receiveSet(jwt, stream, "push");
  } catch (err) {
    logger().error({ stream: stream.id, err: (err as Error).message }, "SET not received");
    await streams.logError(stream.id, `SET not received: ${(err as Error).message}`).catch(() => {});
    return setError(503, "temporarily_unavailable", "the SET could not be processed now; deliver it again later");
  }
  const problem = streamErrorOf(r);
  if (problem) await streams.logError(stream.id, problem).catch(() => {});
  if (!r.ok) return setError(400, r.err, r.description);
  return new Response(null, { status: 202 });
});

/**
 * A body declared larger than a SET is refused here, before the API's own size check would
 * answer in the API's error shape rather than RFC 8935's.
 */
export const POST = Object.assign(
  (req: Request, next?: { params?: Promise<unknown> }) => {
    const declared = Number(req.headers.get("content-length") ?? "0");
    if (Number.isFinite(declared) && declared > MAX_SET_BYTES) return Promise.resolve(setError(413, "invalid_request", `a SET is at most ${MAX_SET_BYTES} bytes`));
    return receive(req, next);
  },
  { requiredRole: receive.requiredRole },
);
