import { audit } from "@/lib/auth/audit";
import { mayPost, scopeForEventType } from "@/lib/auth/scopes";
import { validateParsedEvent } from "@/lib/events/decode";
import { MAX_EVENT_BYTES } from "@/lib/events/schema";
import { ApiError, errorResponse } from "@/lib/http/errors";
import { apiRoute, readJson } from "@/lib/http/route";
import { config } from "@/lib/config";
import { kafkaUnavailable, sendInRequests, sharedProducer } from "@/lib/kafka";
import { provenanceKey, signedSubmitter } from "@/lib/events/provenance";
import { store } from "@/lib/store/clickhouse";

export const dynamic = "force-dynamic";

const MAX_EVENTS_PER_REQUEST = 10_000;
/** A broker restart takes a few seconds; clients are asked to wait about that long. */
const RETRY_AFTER_SECONDS = 5;

/**
 * POST /api/v1/events: one event or an array (schema v1). Valid ones are produced to the
 * events topic, so that every event travels one path (Kafka → consumer → ClickHouse);
 * invalid ones are answered with their reasons and not produced.
 * Role: analyst (a write to Revenant's evidence; viewers only read). An API key may post
 * only the event types its scopes grant (lib/auth/scopes.ts): other items are refused one
 * by one, and the whole request is a 403 when nothing in it was allowed. Each message
 * carries who posted it (header `revenant-submitted-by`: `api_key:<id>` or `user:<id>`),
 * signed with the provenance key so that the consumer stores it as the event's submitter
 * (lib/events/provenance.ts), and each request is audited (events.ingest) with its counts.
 * A later copy of a stored event_id with other content is kept aside as a conflict, never
 * replacing the first (ingest/first-copies.ts).
 * A body of up to 10,000 events may be larger than the broker takes in one request: it is
 * produced in requests of at most 1 MiB (lib/kafka.ts). While Kafka is unreachable the
 * answer is 503 with Retry-After within about two seconds; a client that repeats the
 * request causes no duplicates, because events are deduplicated by event_id.
 */
export const POST = apiRoute("analyst", async (req, { principal }) => {
  const by = `${principal!.kind}:${principal!.id}`;
  const key = await provenanceKey(store().reader);
  let refusedByScope = 0;
  const types: Record<string, number> = {};
  const body = await readJson(req);
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw new ApiError(400, "empty", "no events in the body");
  if (items.length > MAX_EVENTS_PER_REQUEST) throw new ApiError(413, "too_many_events", `at most ${MAX_EVENTS_PER_REQUEST} events per request`);
  const now = Date.now();
  const errors: { index: number; event_id: string | null; reason: string }[] = [];
  const messages: { key: string | null; value: string; headers: Record<string, string> }[] = [];
  items.forEach((item, index) => {
    const value = JSON.stringify(item);
    const eventId = typeof item === "object" && item && typeof item.event_id === "string" ? item.event_id : null;
    if (Buffer.byteLength(value) > MAX_EVENT_BYTES) {
      errors.push({ index, event_id: eventId, reason: "event exceeds 1 MiB" });
      return;
    }
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      errors.push({ index, event_id: null, reason: "schema: an event must be a JSON object" });
      return;
    }
    const r = validateParsedEvent(item, now);
    if (!r.ok) errors.push({ index, event_id: eventId, reason: r.reason });
    else if (!mayPost(principal!, r.event.type)) {
      refusedByScope++;
      errors.push({ index, event_id: eventId, reason: `scope: this key may not post ${r.event.type} events (it needs ${scopeForEventType(r.event.type)})` });
    } else {
      types[r.event.type] = (types[r.event.type] ?? 0) + 1;
      messages.push({ key: r.event.agent_id || null, value, headers: signedSubmitter(key, by, value) });
    }
  });
  if (refusedByScope === items.length) {
    await audit(principal, "events.ingest", principal!.name, { accepted: 0, refused_by_scope: refusedByScope }, req);
    throw new ApiError(403, "forbidden", `this key's scopes (${(principal!.scopes ?? []).join(", ")}) allow none of these events`);
  }
  if (messages.length === 0) {
    // Nothing to produce: the request as a whole failed, and says why.
    await audit(principal, "events.ingest", principal!.name, { accepted: 0, rejected: errors.length, refused_by_scope: refusedByScope, types }, req);
    const first = errors[0];
    return Response.json(
      {
        error: { code: "invalid_events", message: `no event was accepted; item ${first.index}: ${first.reason}` },
        accepted: 0,
        rejected: errors.length,
        errors,
      },
      { status: 422 },
    );
  }
  try {
    await sendInRequests(await sharedProducer(), config().KAFKA_TOPIC, messages);
  } catch (err) {
    if (!kafkaUnavailable(err)) throw err;
    const res = errorResponse(
      new ApiError(503, "kafka_unavailable", "Kafka is not reachable; retry the whole request later (events already produced are deduplicated by event_id)"),
    );
    res.headers.set("Retry-After", String(RETRY_AFTER_SECONDS));
    return res;
  }
  await audit(principal, "events.ingest", principal!.name, { accepted: messages.length, rejected: errors.length, refused_by_scope: refusedByScope, types }, req);
  return Response.json({ accepted: messages.length, rejected: errors.length, errors }, { status: 202 });
});
