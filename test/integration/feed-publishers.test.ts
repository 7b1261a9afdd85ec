/**
 * The covered-credentials feed (lib/feed/publisher.ts) with two publishers on one store, as
 * several workers on one ClickHouse server are: the real broker, the embedded engine, and an
 * enforcement point's kafkajs consumer reading the topic from the start (test/helpers/feed.ts).
 * One publisher reads a credential's status, and is held before it sends while the other writes
 * newer coverage and publishes it; the status the enforcement point ends with must be the
 * current one, never the out-of-date tombstone that lets a revoked credential through.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kafka } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { CoverageFeed } from "@/lib/feed/publisher";
import { closeStore, insertRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { nextVersion } from "@/lib/store/version";
import { readFeedToEnd } from "../helpers/feed";
import { configureTestStack } from "../helpers/stack";

/** A promise the test settles by hand. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/**
 * A Kafka client whose producers hold their next send, once armed, until the test opens the
 * gate (`reached` settles when a send is held): the moment between a publisher's status read
 * and its send, stretched.
 */
function holdingKafka(label: string) {
  const kafka: Kafka = createKafka(config(), label);
  const control = { armed: false, reached: gate(), release: gate() };
  const makeProducer = kafka.producer.bind(kafka);
  kafka.producer = (options) => {
    const producer = makeProducer(options);
    const send = producer.send.bind(producer);
    producer.send = async (record) => {
      if (control.armed) {
        control.armed = false;
        control.reached.open();
        await control.release.promise;
      }
      return send(record);
    };
    return producer;
  };
  return { kafka, control };
}

const covering = (key: string, revocation: string) => ({
  key_kind: "credential", key, revocation_id: revocation, via: "direct", scope: "credential", subject: key, cascade: false,
  revoked_at: new Date(Date.now() - 60_000).toISOString(), reinstated_at: null, generation: 1, version: nextVersion(),
});

describe("covered-credentials feed with several publishers", () => {
  let topic: string;
  const feeds: CoverageFeed[] = [];

  beforeAll(async () => {
    const stack = configureTestStack();
    topic = `${stack.topic}.covered`;
    await migrate(store().writer);
  });
  afterAll(async () => {
    for (const f of feeds) await f.stop();
    await closeStore();
  });

  it("ends with the current status of a key when a publisher's older read is sent after a newer one", async () => {
    const held = holdingKafka("-feed-held");
    const open = (kafka: Kafka) => {
      const feed = new CoverageFeed({ kafka, client: store().writer, topic, partitions: 1, concurrentPublishers: true });
      feeds.push(feed);
      return feed;
    };
    const slow = open(held.kafka);
    const fast = open(createKafka(config(), "-feed-fast"));
    await slow.start();
    await fast.start();

    // The slow publisher reads "not covered" for tok-1, then is held before it sends.
    held.control.armed = true;
    const stale = slow.publish(["rev-1"], ["tok-1"]);
    await held.control.reached.promise;
    // Meanwhile tok-1 is revoked, and the other publisher sends that.
    await insertRows(store().writer, "coverage", [covering("tok-1", "rev-1")], { comment: "test" });
    await fast.publish(["rev-1"], ["tok-1"]);
    expect([...(await readFeedToEnd(topic)).keys()]).toEqual(["tok-1"]);
    // The out-of-date tombstone lands after it: the slow publisher must notice and send again.
    held.control.release.open();
    await stale;
    const denySet = await readFeedToEnd(topic);
    expect([...denySet.keys()]).toEqual(["tok-1"]);
    expect(denySet.get("tok-1")!.revocations.map((r) => r.event_id)).toEqual(["rev-1"]);
  });
});
