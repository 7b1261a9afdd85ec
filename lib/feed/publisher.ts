/**
 * The covered-credentials feed (README.md, "Enforcement points"): a compacted Kafka topic
 * keyed by credential id whose latest value is the credential's status (lib/feed/status.ts)
 * while a revocation with an open window covers it, and a tombstone once none does. An
 * enforcement point that reads the topic from the start holds the current deny-set.
 *
 * The detection engine calls publish() right after it rewrites a revocation's coverage, inside
 * the batch, before it records the rewrite (lib/detection/engine.ts, onCoverageChanged): a
 * failed publish fails the batch, which is retried, so the feed is at-least-once with the
 * batch's offsets. Each publish re-reads the statuses of every credential the revocation names
 * from the coverage table, so a value is always the whole current answer for its key and a
 * repeated publish is harmless. start() republishes every credential coverage has named (in
 * the background, ahead of any publish), which repairs a publish lost to a crash after a
 * coverage write that the batch's retry does not repeat (a covered set that already grew).
 * Publishes are serialised, so a key's messages follow the order of the coverage changes.
 * Several workers on one ClickHouse server publish beside each other, unordered: a worker that
 * read a status just before another worker's coverage write could send it after that worker's
 * newer status, and an out-of-date tombstone would let a revoked credential through. With
 * `concurrentPublishers`, each send is followed by a read of the same keys, and a key whose
 * status changed meanwhile is sent again (verified again): the last message of every key is
 * then one its sender found current after sending it, and any write after that read is
 * published by its writer, which reads after writing.
 *
 * A reinstatement dated ahead ends coverage when its time comes, not when it arrives. Each
 * status read says when the earliest coverage it found ends; the feed keeps the earliest such
 * time (one timestamp) and, when it comes, republishes the credentials whose coverage ended
 * (lib/feed/status.ts, credentialsEndedBetween) and looks up the next one. Start-up's resync
 * catches up on any a stopped worker missed. (A look every second instead cost detection's
 * session 186 reads and 34 s of wall time in bench:scale's incident week.)
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Kafka, Message, Producer } from "kafkajs";
import { createTopicsWhenReady } from "../kafka";
import { logger } from "../log";
import { credentialKeysPage, credentialsEndedBetween, credentialStatusesUntil, credentialsOf, nextCoverageEnd, type CredentialStatus } from "./status";

/**
 * kafkajs's ConfigResourceTypes.TOPIC. Not imported by name: kafkajs is CommonJS, and Node's
 * ESM loader (tsx: ingest/main.ts, the benchmarks) does not see that export.
 */
const TOPIC_RESOURCE = 2;
/** Keys per status read and per produce request: bounded memory for a revocation covering many credentials. */
const CHUNK = 1000;
/** setTimeout's longest delay; a coverage end further ahead is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface FeedOptions {
  kafka: Kafka;
  client: ClickHouseClient;
  topic: string;
  partitions: number;
  /**
   * Told of every status published for a coverage change, after Kafka acknowledged it (the SSF
   * transmitter). Not told of the start-up resync: that repeats answers, it reports no change.
   */
  onPublished?: (statuses: CredentialStatus[]) => Promise<void> | void;
  /** Other processes publish to the same topic from the same coverage (server mode): verify each send (see above). */
  concurrentPublishers?: boolean;
}

/** Verified sends of one chunk in a row; past them (coverage changing faster than it is read) the chunk's changed keys are published again a second later. */
const MAX_VERIFIED_SENDS = 5;

/**
 * Creates the feed topic, compacted, if it is missing; a topic that exists without compaction
 * (created by hand, or by a broker's auto-creation) is switched to it. Idempotent.
 */
export async function ensureFeedTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ["cleanup.policy"] }] });
      const policy = described.resources[0]?.configEntries.find((e) => e.configName === "cleanup.policy")?.configValue ?? "";
      if (!policy.split(",").includes("compact")) {
        logger().warn({ topic, policy }, "feed topic was not compacted: switching it to cleanup.policy=compact");
        await admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC_RESOURCE, name: topic, configEntries: [{ name: "cleanup.policy", value: "compact" }] }] });
      }
      return;
    }
    await createTopicsWhenReady(admin, [{ topic, numPartitions: partitions, configEntries: [{ name: "cleanup.policy", value: "compact" }] }]);
  } finally {
    await admin.disconnect();
  }
}

/** A status as the feed's message: the status as JSON, or a tombstone when nothing covers the key. */
export function feedMessage(status: CredentialStatus): Message {
  return { key: status.credential_id, value: status.covered ? JSON.stringify(status) : null };
}

export class CoverageFeed {
  private readonly producer: Producer;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly log = logger().child({ component: "feed" });
  private dueTimer: NodeJS.Timeout | null = null;
  /** When dueTimer fires: the earliest coverage end known to be ahead. */
  private dueAt: number | null = null;
  /** Coverage that ended up to this time has been republished (resync at start covers what came before). */
  private dueCheckedUpTo = new Date();
  private stopped = false;

  constructor(private readonly opts: FeedOptions) {
    // Idempotent with one request in flight: a retried send neither duplicates nor reorders a key's messages.
    this.producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  async start(): Promise<void> {
    await ensureFeedTopic(this.opts.kafka, this.opts.topic, this.opts.partitions);
    await this.producer.connect();
    // Not awaited: start-up does not wait for it, while publishes queue behind it.
    this.serialised(() => this.resync()).catch((err: Error) => this.log.warn({ err: err.message }, "feed resync failed"));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    await this.chain.catch(() => {});
    await this.producer.disconnect();
  }

  /**
   * Publishes the current status of every credential the given revocations' coverage names
   * (`credentials` when the caller knows them, as the engine does; otherwise read back).
   */
  publish(revocationIds: string[], credentials?: string[]): Promise<void> {
    return this.serialised(async () => {
      const keys = credentials ?? (await credentialsOf(this.opts.client, revocationIds));
      await this.publishKeys(keys);
      this.log.debug({ revocations: revocationIds, credentials: keys.length }, "feed published");
    });
  }

  /** Waits for a coverage end at `at` (ms), unless an earlier one is already awaited. */
  private awaitCoverageEnd(at: number | null): void {
    if (at === null || this.stopped || (this.dueAt !== null && this.dueAt <= at)) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = null;
      this.dueAt = null;
      this.serialised(() => this.publishDue()).catch((err: Error) => {
        this.log.warn({ err: err.message }, "feed: republishing coverage that came due failed; trying again in a second");
        this.awaitCoverageEnd(Date.now() + 1000);
      });
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.dueTimer.unref();
  }

  /** Republishes the credentials whose coverage ended since the last look (reinstatements dated ahead, now due), then awaits the next end. */
  private async publishDue(): Promise<void> {
    const upTo = new Date();
    const keys = await credentialsEndedBetween(this.opts.client, this.dueCheckedUpTo, upTo);
    if (keys.length) {
      await this.publishKeys(keys);
      this.log.info({ credentials: keys.length }, "feed: coverage ended by reinstatements that came due");
    }
    this.dueCheckedUpTo = upTo;
    this.awaitCoverageEnd(await nextCoverageEnd(this.opts.client, upTo));
  }

  /** Republishes every credential coverage has named (start-up, and repair by hand). */
  private async resync(): Promise<void> {
    let after = "";
    let total = 0;
    for (;;) {
      const keys = await credentialKeysPage(this.opts.client, after, CHUNK);
      if (keys.length === 0) break;
      await this.publishKeys(keys, false);
      total += keys.length;
      after = keys[keys.length - 1];
    }
    if (total) this.log.info({ credentials: total }, "feed resynchronised");
  }

  private async publishKeys(keys: string[], tell = true): Promise<void> {
    for (let i = 0; i < keys.length; i += CHUNK) {
      let { statuses, endsAt } = await credentialStatusesUntil(this.opts.client, keys.slice(i, i + CHUNK), "feed:publish");
      for (let sends = 1; statuses.length; sends++) {
        this.awaitCoverageEnd(endsAt);
        await this.producer.send({ topic: this.opts.topic, acks: -1, messages: statuses.map(feedMessage) });
        if (tell) await this.opts.onPublished?.(statuses);
        if (!this.opts.concurrentPublishers) break;
        const now = await credentialStatusesUntil(this.opts.client, statuses.map((s) => s.credential_id), "feed:verify");
        const changed = now.statuses.filter((s, j) => feedMessage(s).value !== feedMessage(statuses[j]).value);
        if (changed.length && sends === MAX_VERIFIED_SENDS) {
          // Not dropped: the last message of these keys may be out of date, and no later change
          // need come. Published again (and verified again) a second from now, after the queue.
          const again = changed.map((s) => s.credential_id);
          this.log.warn({ credentials: again.length, first: again[0] }, "feed: coverage kept changing while it was published; publishing it again in a second");
          setTimeout(() => {
            if (!this.stopped) this.serialised(() => this.publishKeys(again, tell)).catch((err: Error) => this.log.warn({ err: err.message }, "feed: publishing again failed"));
          }, 1000).unref();
          break;
        }
        statuses = changed;
        endsAt = now.endsAt;
      }
    }
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }
}
