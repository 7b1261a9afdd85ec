/**
 * Accepting one SET, whatever delivered it (push: app/api/v1/ssf/streams/[id]/push/route.ts,
 * poll: lib/ssf/poll.ts): verify → refuse a replayed jti → produce the revocation to the
 * events topic (the path every event travels) → keep the SET (raw JWT and claims) linked to
 * the revocation it produced.
 *
 * The revocation is produced before the SET is kept: if keeping fails, the transmitter
 * delivers again and the same event_id is produced again (deduplicated), whereas the other
 * order could refuse the retry as a replay and lose the revocation.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { config } from "../config";
import { validateEvent } from "../events/schema";
import { sharedProducer } from "../kafka";
import { insertRows, queryRows, store } from "../store/clickhouse";
import { mapSet, type SetOutcome } from "./map";
import type { Stream } from "./streams";
import { SetError, verifySet } from "./verify";

export type Delivery = "push" | "poll";

export type Received =
  | { ok: true; jti: string; outcome: SetOutcome["kind"] | "duplicate"; revocation_event_id: string | null; /** unmapped: why no rule matched */ why?: string }
  | { ok: false; jti: string | null; err: SetError["err"]; description: string };

/**
 * What the stream's status shows as its last error for a SET (docs/INTAKES.md): a refusal, or
 * a SET kept that no subject rule maps (a misconfigured rule would otherwise drop every
 * revocation silently); null for the others.
 */
export function streamErrorOf(r: Received): string | null {
  if (!r.ok) return `SET ${r.jti ?? "?"} refused: ${r.err}: ${r.description}`;
  if (r.outcome === "unmapped") return `SET ${r.jti} kept but produced nothing: ${r.why ?? "no subject rule matches"}`;
  return null;
}

export type Produce = (topic: string, messages: { key: string | null; value: string }[]) => Promise<void>;

const defaultProduce: Produce = async (topic, messages) => {
  await (await sharedProducer()).send({ topic, messages, acks: -1 });
};

const inFlightKey = Symbol.for("revenant.ssf.inflight");
function inFlight(): Set<string> {
  const g = globalThis as typeof globalThis & { [inFlightKey]?: Set<string> };
  return (g[inFlightKey] ??= new Set());
}

/** The unverified jti, only to name a refused SET in poll setErrs. */
function peekJti(jwt: string): string | null {
  try {
    const jti = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")).jti;
    return typeof jti === "string" ? jti : null;
  } catch {
    return null;
  }
}

/**
 * Refusals (bad signature, audience, replay…) come back as { ok: false }; trouble on our
 * side (Kafka, ClickHouse, the transmitter's keys unreachable) throws, so that push answers
 * 5xx and poll does not acknowledge: the SET is delivered again.
 */
export async function receiveSet(jwt: string, stream: Stream, delivery: Delivery, opts: { client?: ClickHouseClient; produce?: Produce } = {}): Promise<Received> {
  const client = opts.client ?? store().writer;
  let set;
  try {
    set = await verifySet(jwt, stream);
  } catch (err) {
    if (err instanceof SetError) return { ok: false, jti: peekJti(jwt), err: err.err, description: err.message };
    throw err;
  }
  const jti = set.payload.jti;
  const key = `${stream.id}\n${jti}`;
  // A retry racing its own first delivery (the transmitter gave up waiting): not a replay, and
  // the first may still fail, so the retry is asked to come again (push 503, poll: not acknowledged).
  if (inFlight().has(key)) throw new Error(`jti ${jti} is still being received from an earlier delivery`);
  inFlight().add(key);
  try {
    const seen = await queryRows<{ raw: string }>(client, "ssf:replay", "SELECT raw FROM ssf_sets FINAL WHERE stream_id = {s:String} AND jti = {j:String}", { s: stream.id, j: jti });
    if (seen.length) {
      // The very same token again is a repeat, acknowledged, not refused: poll redelivers what
      // we had not acknowledged yet (e.g. across a restart), push retries when our 202 was
      // lost on the way. Anything else reusing a jti is a replay.
      if (seen[0].raw === jwt) return { ok: true, jti, outcome: "duplicate", revocation_event_id: null };
      return { ok: false, jti, err: "invalid_request", description: `jti ${jti} was already received (replay refused)` };
    }
    const outcome = mapSet(set, stream);
    let revocationId: string | null = null;
    if (outcome.kind === "revocation") {
      const checked = validateEvent(outcome.event);
      if (!checked.ok) return { ok: false, jti, err: "invalid_request", description: `the event does not make a valid revocation: ${checked.reason}` };
      revocationId = outcome.event.event_id;
      await (opts.produce ?? defaultProduce)(config().KAFKA_TOPIC, [{ key: null, value: JSON.stringify(outcome.event) }]);
    }
    const row = {
      stream_id: stream.id, jti, iss: String(set.payload.iss), delivery, event_type: set.eventType, outcome: outcome.kind,
      revocation_event_id: revocationId ?? "", claims: JSON.stringify(set.payload), raw: jwt,
    };
    await insertRows(client, "ssf_sets", [row], { comment: "ssf:set" });
    return { ok: true, jti, outcome: outcome.kind, revocation_event_id: revocationId, ...(outcome.kind === "unmapped" ? { why: outcome.why } : {}) };
  } finally {
    inFlight().delete(key);
  }
}
