/**
 * The feed mirror (lib/feed/mirror.ts) and the consumer restart policy it shares with ingest
 * (lib/kafka-restart.ts), on the shared test broker:
 * - a value on the feed topic that is not a credential status does not crash the mirror: the
 *   mirror keeps following, and lookups of that key read coverage until it is readable again;
 * - a consumer crash that kafkajs leaves stopped (a non-retriable error) is restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Consumer, Producer } from "kafkajs";
import { randomUUID } from "node:crypto";
import { createKafka, createTopicsWhenReady } from "@/lib/kafka";
import { CrashRestarts, kafkajsRestartOff } from "@/lib/kafka-restart";
import { FeedMirror } from "@/lib/feed/mirror";
import { logger } from "@/lib/log";
import { configureTestStack, eventually, testProducer } from "../helpers/stack";

const status = (credential: string, revocation: string) => ({
  credential_id: credential,
  covered: true,
  revocations: [{ event_id: revocation, scope: "credential", subject: credential, since: "2026-11-01 12:00:00.000", via: "direct" }],
});

async function newTopic(): Promise<string> {
  const topic = `test.mirror.${randomUUID().slice(0, 8)}`;
  const admin = createKafka().admin();
  await admin.connect();
  await createTopicsWhenReady(admin, [{ topic, numPartitions: 1 }]);
  await admin.disconnect();
  return topic;
}

describe("the feed mirror and the consumer restart policy", () => {
  let producer: Producer;
  const consumers: Consumer[] = [];
  let mirror: FeedMirror | null = null;

  beforeAll(async () => {
    configureTestStack();
    producer = await testProducer();
  });
  afterAll(async () => {
    await mirror?.stop();
    await Promise.all(consumers.map((c) => c.disconnect()));
    await producer?.disconnect();
  });

  it("keeps following past a value that is not a credential status, and sends only that key's lookups to coverage until it is readable", async () => {
    const topic = await newTopic();
    await producer.send({
      topic,
      messages: [
        { key: "tok-good", value: JSON.stringify(status("tok-good", "rev-1")) },
        { key: "tok-garbled", value: "{not json" },
        { key: "tok-odd", value: JSON.stringify({ credential_id: "tok-odd", covered: "yes" }) },
        // Another key's status under this key: not this credential's answer.
        { key: "tok-misfiled", value: JSON.stringify(status("tok-other", "rev-4")) },
      ],
    });
    mirror = new FeedMirror(createKafka(), topic);
    await mirror.start();
    // Read past the unreadable values without crashing: a later key arrives, and the mirror
    // serves lookups of every other key.
    await producer.send({ topic, messages: [{ key: "tok-later", value: JSON.stringify(status("tok-later", "rev-2")) }] });
    await eventually(async () => mirror!.status("tok-later").covered, 30_000, "the mirror reading past the unreadable values");
    expect(mirror.ready).toBe(true);
    expect(mirror.status("tok-good")).toEqual(status("tok-good", "rev-1"));
    expect(["tok-good", "tok-later", "tok-never-seen"].map((id) => mirror!.readable(id))).toEqual([true, true, true]);
    expect(["tok-garbled", "tok-odd", "tok-misfiled"].map((id) => mirror!.readable(id))).toEqual([false, false, false]);

    // Readable again once a status or a tombstone replaces the value; fields the publisher
    // does not write are not passed on.
    await producer.send({
      topic,
      messages: [
        { key: "tok-garbled", value: JSON.stringify({ ...status("tok-garbled", "rev-3"), note: "extra" }) },
        { key: "tok-odd", value: null },
        { key: "tok-misfiled", value: JSON.stringify(status("tok-misfiled", "rev-5")) },
      ],
    });
    await eventually(async () => mirror!.readable("tok-misfiled"), 30_000, "the unreadable keys replaced");
    expect(["tok-garbled", "tok-odd", "tok-misfiled"].map((id) => mirror!.readable(id))).toEqual([true, true, true]);
    expect(mirror.status("tok-garbled")).toEqual(status("tok-garbled", "rev-3"));
    expect(mirror.status("tok-odd").covered).toBe(false);
    expect(mirror.size).toBe(4);
  }, 90_000);

  it("restarts a consumer after a crash kafkajs leaves stopped", async () => {
    const topic = await newTopic();
    await producer.send({ topic, messages: [{ key: "k", value: "first" }] });
    // A TypeError is one of the errors kafkajs never retries nor restarts after.
    const crashOnce = (crashed: { done: boolean }, seen: string[]) => async ({ message }: { message: { value: Buffer | null } }) => {
      if (!crashed.done) {
        crashed.done = true;
        throw new TypeError("handler failed once");
      }
      seen.push(String(message.value));
    };

    // Left to kafkajs: the crash says it will not restart.
    const left = createKafka().consumer({ groupId: `test-left-${randomUUID()}` });
    consumers.push(left);
    const leftCrash = new Promise<boolean>((resolve) => left.on(left.events.CRASH, (e) => resolve(e.payload.restart)));
    await left.connect();
    await left.subscribe({ topic, fromBeginning: true });
    const leftSeen: string[] = [];
    await left.run({ eachMessage: crashOnce({ done: false }, leftSeen) });
    expect(await leftCrash).toBe(false);

    // Restarted by CrashRestarts: the message is handled on the restarted run.
    const restarted = createKafka().consumer({ groupId: `test-restarted-${randomUUID()}`, ...kafkajsRestartOff });
    consumers.push(restarted);
    const seen: string[] = [];
    const crashed = { done: false };
    const run = () => restarted.run({ eachMessage: crashOnce(crashed, seen) });
    const restarts = new CrashRestarts(restarted, run, logger());
    await restarted.connect();
    await restarted.subscribe({ topic, fromBeginning: true });
    await run();
    await eventually(async () => seen.length > 0, 30_000, "the restarted consumer handling the message");
    expect(crashed.done).toBe(true);
    expect(seen).toEqual(["first"]);
    expect(leftSeen).toEqual([]);
    restarts.stop();
  }, 90_000);
});
