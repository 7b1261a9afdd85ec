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
import type { Consumer, Kafka } from "kafkajs";
import { randomUUID } from "node:crypto";
import { logger } from "../log";
import type { CredentialStatus } from "./status";

export class FeedMirror {
  private readonly statuses = new Map<string, CredentialStatus>();
  private consumer: Consumer | null = null;
  private caughtUp = false;
  private crashed = false;
  private readonly log = logger().child({ component: "feed-mirror" });

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {}

  /** True while the mirror holds the deny-set: it has read the whole topic once and is still following it. */
  get ready(): boolean {
    return this.caughtUp && !this.crashed;
  }

  get size(): number {
    return this.statuses.size;
  }

  status(id: string): CredentialStatus {
    return this.statuses.get(id) ?? { credential_id: id, covered: false, revocations: [] };
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      // Asking for a missing topic's offsets could make a broker auto-create it, uncompacted:
      // the worker creates the feed topic (lib/feed/publisher.ts); until then, no mirror.
      if (!(await admin.listTopics()).includes(this.topic)) throw new Error(`feed topic ${this.topic} does not exist yet`);
      ends = new Map((await admin.fetchTopicOffsets(this.topic)).map((p) => [p.partition, BigInt(p.high)]));
    } finally {
      await admin.disconnect();
    }
    const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
    if (pending.size === 0) this.caughtUp = true;
    // A group of its own each start: the mirror always reads the topic from the start and
    // never shares partitions with another process's mirror.
    const consumer = this.kafka.consumer({ groupId: `revenant-feed-mirror-${randomUUID()}`, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashed = !e.payload.restart;
      this.log.warn({ err: e.payload.error.message, restart: e.payload.restart }, "feed mirror consumer crashed");
    });
    consumer.on(consumer.events.GROUP_JOIN, () => (this.crashed = false));
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString();
        if (key !== undefined) {
          if (message.value === null) this.statuses.delete(key);
          else this.statuses.set(key, JSON.parse(message.value.toString()) as CredentialStatus);
        }
        if (!this.caughtUp && BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) {
          pending.delete(partition);
          if (pending.size === 0) {
            this.caughtUp = true;
            this.log.info({ credentials: this.statuses.size }, "feed mirror caught up");
          }
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.caughtUp = false;
    await this.consumer?.disconnect();
    this.consumer = null;
  }
}
