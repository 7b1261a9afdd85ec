/**
 * RFC 8936 poll delivery. One cycle per stream: send the acknowledgements (and setErrs) owed
 * from the last round, receive up to MAX_EVENTS SETs, accept each (lib/ssf/receive.ts), write
 * down what is owed in ssf_poll_state, and repeat while the transmitter has more.
 *
 * Across a restart: what is owed is read back from ssf_poll_state and sent with the first
 * request, so acknowledged SETs are not redelivered; SETs received but not yet written down
 * are redelivered, recognised by jti and acknowledged without producing anything twice.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { logger } from "../log";
import { insertRows, queryRows, store } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { receiveSet, streamErrorOf, type Produce } from "./receive";
import { StreamStore, type Stream } from "./streams";
import { vettedFetch } from "./vetted-fetch";

const MAX_EVENTS = 100;
/** Rounds per cycle, so one busy transmitter cannot hold the poller for ever. */
const MAX_ROUNDS = 50;

interface Owed {
  acks: string[];
  setErrs: Record<string, { err: string; description: string }>;
}

async function loadOwed(client: ClickHouseClient, streamId: string): Promise<Owed> {
  const rows = await queryRows<{ acks: string[]; set_errs: string }>(client, "ssf:poll-state", "SELECT acks, set_errs FROM ssf_poll_state FINAL WHERE stream_id = {s:String}", { s: streamId });
  return rows[0] ? { acks: rows[0].acks, setErrs: JSON.parse(rows[0].set_errs || "{}") } : { acks: [], setErrs: {} };
}

async function saveOwed(client: ClickHouseClient, streamId: string, owed: Owed): Promise<void> {
  await insertRows(client, "ssf_poll_state", [{ stream_id: streamId, acks: owed.acks, set_errs: JSON.stringify(owed.setErrs), version: nextVersion() }], {
    comment: "ssf:poll-state",
  });
}

export interface PollResult {
  received: number;
  accepted: number;
  refused: number;
}

export async function pollStream(stream: Stream, opts: { client?: ClickHouseClient; produce?: Produce; streams?: StreamStore } = {}): Promise<PollResult> {
  const client = opts.client ?? store().writer;
  const streams = opts.streams ?? new StreamStore(store().reader, store().writer);
  const token = await streams.pollToken(stream.id);
  let owed = await loadOwed(client, stream.id);
  const result: PollResult = { received: 0, accepted: 0, refused: 0 };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const body: Record<string, unknown> = { maxEvents: MAX_EVENTS, returnImmediately: true };
    if (owed.acks.length) body.ack = owed.acks;
    if (Object.keys(owed.setErrs).length) body.setErrs = owed.setErrs;
    const res = await vettedFetch(stream.poll_url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`poll endpoint answered ${res.status}`);
    const answer = (await res.json()) as { sets?: Record<string, string>; moreAvailable?: boolean };
    // The transmitter has our acknowledgements now.
    const next: Owed = { acks: [], setErrs: {} };
    const sets = Object.entries(answer.sets ?? {});
    for (const [jti, jwt] of sets) {
      result.received++;
      const r = await receiveSet(jwt, stream, "poll", { client, produce: opts.produce });
      if (r.ok) {
        next.acks.push(jti);
        result.accepted++;
      } else {
        next.setErrs[jti] = { err: r.err, description: r.description };
        result.refused++;
      }
      const problem = streamErrorOf(r);
      if (problem) await streams.logError(stream.id, problem);
    }
    owed = next;
    await saveOwed(client, stream.id, owed);
    if (!sets.length && !answer.moreAvailable) break;
  }
  return result;
}

/** Polls every enabled poll-delivery stream every intervalMs (a worker job, see ingest/jobs.ts). */
export class SsfPoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly log = logger().child({ component: "ssf-poll" });

  constructor(private readonly intervalMs: number, private readonly streams = new StreamStore(store().reader, store().writer)) {}

  start(): void {
    const tick = () => {
      this.running = this.cycle().finally(() => {
        this.running = null;
        if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  async cycle(): Promise<void> {
    let streams: Stream[];
    try {
      streams = (await this.streams.list()).filter((s) => s.enabled && s.delivery === "poll");
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "listing SSF streams failed");
      return;
    }
    for (const s of streams) {
      try {
        const r = await pollStream(s, { streams: this.streams });
        if (r.received) this.log.info({ stream: s.id, ...r }, "SSF poll");
      } catch (err) {
        this.log.warn({ stream: s.id, err: (err as Error).message }, "SSF poll failed");
        await this.streams.logError(s.id, `poll failed: ${(err as Error).message}`).catch(() => {});
      }
    }
  }
}
