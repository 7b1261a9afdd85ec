/**
 * The status lookup's memory (README.md, "Enforcement points"): the web process follows the
 * covered-credentials feed (lib/feed/publisher.ts) exactly as an enforcement point would —
 * reading the compacted topic from the start and keeping the latest value of each key — so a
 * lookup is a map read instead of a ClickHouse query. One embedded-engine query costs 4–8 ms
 * at the median on a small machine, and a session runs one at a time, so 2,000 lookups a
 * second cannot each be a query.
 *
 * Until the mirror has read up to the topic's end as it was when the mirror started, and
 * whenever it stops following, callers read the coverage table instead (lib/feed/lookup.ts).
 * After that it lags coverage by the feed's delivery: the publish inside the batch plus one
 * fetch (maxWaitTimeInMs below).
 */
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { CrashRestarts, kafkajsRestartOff } from "../kafka-restart";
import { logger } from "../log";
import type { CredentialStatus } from "./status";

export class FeedMirror {
  private readonly statuses = new Map<string, CredentialStatus>();
  private consumer: Consumer | null = null;
  private restarts: CrashRestarts | null = null;
  private caughtUp = false;
  private crashed = false;
  private stopped = false;
  /** The topic's end offsets the mirror must reach before it is ready again, by partition. */
  private ends = new Map<number, bigint>();
  /** Partitions not read up to `ends` yet. */
  private pending = new Set<number>();
  /** How far each partition has been read (next offset). */
  private readonly read = new Map<number, bigint>();
  /** Keys whose latest value could not be read as a credential status. */
  private readonly unreadable = new Set<string>();
  /** Bumped by every crash: a catch-up target taken before a later crash is stale. */
  private crashes = 0;
  private readonly log = logger().child({ component: "feed-mirror" });

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {}

  /** True while the mirror holds the deny-set: it has read the whole topic once and is still following it. */
  get ready(): boolean {
    return this.caughtUp && !this.crashed;
  }

  /** False while the key's latest value on the topic is not a credential status: ask coverage. */
  readable(id: string): boolean {
    return !this.unreadable.has(id);
  }

  get size(): number {
    return this.statuses.size;
  }

  status(id: string): CredentialStatus {
    return this.statuses.get(id) ?? { credential_id: id, covered: false, revocations: [] };
  }

  async start(): Promise<void> {
    // Asking for a missing topic's offsets could make a broker auto-create it, uncompacted:
    // the worker creates the feed topic (lib/feed/publisher.ts); until then, no mirror.
    await this.catchUpTo(await this.endOffsets(true));
    // A group of its own each start: the mirror always reads the topic from the start and
    // never shares partitions with another process's mirror.
    const consumer = this.kafka.consumer({ groupId: `revenant-feed-mirror-${randomUUID()}`, maxWaitTimeInMs: 100, ...kafkajsRestartOff });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      // Not ready until it has read up to the topic's end again: the restarted consumer (nothing
      // committed) replays the topic from the start, and while the replay passes an old
      // tombstone of a key covered again since, the map would say "not covered". Callers read
      // the coverage table meanwhile (lib/feed/lookup.ts).
      this.crashed = true;
      this.caughtUp = false;
      this.read.clear();
      this.unreadable.clear();
      this.crashes++;
      this.log.warn({ err: e.payload.error.message }, "feed mirror consumer crashed");
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (!this.crashed) return;
      this.crashed = false;
      void this.catchUpAfterCrash(this.crashes);
    });
    const run = () => consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => this.apply(partition, message) });
    // Restarted after every crash, also one kafkajs would leave stopped (lib/kafka-restart.ts):
    // a mirror that stops for good is never ready again.
    this.restarts = new CrashRestarts(consumer, run, this.log);
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await run();
  }

  private apply(partition: number, message: KafkaMessage): void {
    const key = message.key?.toString();
    if (key !== undefined) {
      const status = message.value === null ? null : parsedStatus(key, message.value);
      if (status === undefined) {
        // Not written by Revenant's publisher. Throwing here would crash the consumer on the
        // same message at every restart; guessing would answer wrongly. The key's status is
        // unknown until a readable value replaces it, and its lookups read coverage meanwhile.
        if (!this.unreadable.has(key)) this.log.error({ credential_id: key, partition, offset: message.offset }, "feed mirror: a value that is not a credential status");
        this.unreadable.add(key);
        this.statuses.delete(key);
      } else {
        this.unreadable.delete(key);
        if (status === null) this.statuses.delete(key);
        else this.statuses.set(key, status);
      }
    }
    this.read.set(partition, BigInt(message.offset) + 1n);
    if (!this.caughtUp && this.pending.has(partition) && BigInt(message.offset) + 1n >= (this.ends.get(partition) ?? 0n)) {
      this.pending.delete(partition);
      this.settleIfCaughtUp();
    }
  }

  /**
   * After a crash, the topic's end as it is now is the new target. A broker just back may not
   * answer yet: the read is repeated every second until it does, or until another crash (whose
   * own join takes over) or stop.
   */
  private async catchUpAfterCrash(crashes: number): Promise<void> {
    while (crashes === this.crashes && !this.stopped) {
      try {
        const ends = await this.endOffsets(false);
        if (crashes === this.crashes && !this.stopped) this.catchUpTo(ends);
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "feed mirror: the topic's end not read yet; lookups stay on the coverage table");
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private async endOffsets(mustExist: boolean): Promise<Map<number, bigint>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (mustExist && !(await admin.listTopics()).includes(this.topic)) throw new Error(`feed topic ${this.topic} does not exist yet`);
      return new Map((await admin.fetchTopicOffsets(this.topic)).map((p) => [p.partition, BigInt(p.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  /** Ready once every partition is read up to `ends` (some may be already). */
  private catchUpTo(ends: Map<number, bigint>): void {
    this.ends = ends;
    this.pending = new Set([...ends].filter(([p, high]) => high > (this.read.get(p) ?? 0n)).map(([p]) => p));
    this.settleIfCaughtUp();
  }

  private settleIfCaughtUp(): void {
    if (this.pending.size > 0 || this.crashed || this.caughtUp || this.stopped) return;
    this.caughtUp = true;
    this.log.info({ credentials: this.statuses.size }, "feed mirror caught up");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.caughtUp = false;
    await this.restarts?.stop();
    await this.consumer?.disconnect();
    this.consumer = null;
  }
}

/**
 * What the publisher writes (lib/feed/publisher.ts, the shape of lib/feed/status.ts): unknown
 * fields are dropped, so that the mirror answers exactly what a coverage read would.
 */
const coveringRevocationSchema = z.object({
  event_id: z.string(),
  scope: z.string(),
  subject: z.string(),
  since: z.string(),
  via: z.enum(["direct", "cascade"]),
});
const feedValueSchema = z.object({ credential_id: z.string(), covered: z.boolean(), revocations: z.array(coveringRevocationSchema) });

/** A feed value as the status of the credential its key names, or undefined when it is not one. */
function parsedStatus(key: string, value: Buffer): CredentialStatus | undefined {
  try {
    const parsed = feedValueSchema.safeParse(JSON.parse(value.toString()));
    return parsed.success && parsed.data.credential_id === key ? parsed.data : undefined;
  } catch {
    return undefined; // not JSON
  }
}
