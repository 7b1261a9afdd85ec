/**
 * A message just under the broker's 2 MiB limit (scripts/kafka/broker.mjs) cannot be
 * dead-lettered whole: its reason headers push it over. It must still be recorded, and the
 * events behind it on the same partition must be stored; here the dead-letter topic takes
 * only 100 kB per message, so the sink's fallback to a shorter payload runs too.
 * Also: every table fsyncs inserts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import type { Producer } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { startWorker, type Worker } from "@/ingest/worker";
import { actionEvent, configureTestStack, count, testProducer, waitUntilConsumed } from "../helpers/stack";
import { readDeadLetterTopic } from "../helpers/faults";
import { call, TEST_API_KEY } from "../helpers/api";
import * as deadLettersRoute from "@/app/api/v1/dead-letters/route";

describe("dead letters that do not fit the broker", () => {
  let producer: Producer;
  let worker: Worker;

  beforeAll(async () => {
    configureTestStack({ KAFKA_TOPIC_PARTITIONS: "1", REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY });
    // A dead-letter topic that takes less than 1 MiB per message (Kafka's default limit is
    // 1 MiB): the sink must fall back to a shorter payload rather than retry forever.
    const admin = createKafka().admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: config().KAFKA_DLQ_TOPIC, numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: "100000" }] }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    producer = await testProducer();
    worker = await startWorker();
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await producer?.disconnect();
    await closeStore();
  });

  it("records a near-2 MiB bad message (truncated, with size and hash) and keeps ingesting the partition", async () => {
    // 200 bytes under the limit: the message fits, its dead letter with reason headers does not.
    const huge = Buffer.alloc(2 * 1024 * 1024 - 200, "x");
    const sha = createHash("sha256").update(huge).digest("hex");
    const before = Array.from({ length: 20 }, () => actionEvent({ agent_id: "dlq-agent" }));
    const after = Array.from({ length: 80 }, () => actionEvent({ agent_id: "dlq-agent" }));
    const send = (values: (string | Buffer)[]) =>
      producer.send({ topic: config().KAFKA_TOPIC, messages: values.map((value) => ({ key: "dlq-agent", value })) });
    await send(before.map((e) => JSON.stringify(e)));
    await send([huge]);
    // A bad message of ordinary size right behind it: dead letters keep their whole payload.
    await send(["{not json"]);
    await send(after.map((e) => JSON.stringify(e)));

    await waitUntilConsumed(before.length + 2 + after.length, 60_000);
    expect(await count("SELECT count() FROM events FINAL")).toBe(before.length + after.length);

    const rows = await queryRows<{ offset: number; reason: string; payload_len: number; payload_bytes: number; payload_sha256: string }>(
      store().reader,
      "test",
      "SELECT offset, reason, length(payload) AS payload_len, payload_bytes, payload_sha256 FROM dead_letters FINAL ORDER BY offset",
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ offset: before.length, payload_len: 64 * 1024, payload_bytes: huge.length, payload_sha256: sha });
    expect(rows[0].reason).toBe(`message of ${huge.length} bytes exceeds 1 MiB`);
    expect(rows[1]).toMatchObject({ offset: before.length + 1, payload_bytes: 9, payload_len: 9 });
    expect(rows[1].reason).toMatch(/^invalid JSON/);

    // The API shows what identifies the original: its size and hash.
    const listed = await (await call(deadLettersRoute.GET, "/api/v1/dead-letters")).json();
    expect(listed.count).toBe(2);
    expect(listed.items).toContainEqual(expect.objectContaining({ offset: before.length, payload_bytes: huge.length, payload_sha256: sha }));

    const letters = await readDeadLetterTopic(config().KAFKA_DLQ_TOPIC, 2);
    expect(letters).toHaveLength(2);
    const big = letters.find((l) => l.headers["revenant-source-offset"] === String(before.length))!;
    expect(big.headers).toMatchObject({
      "revenant-reason": rows[0].reason,
      "revenant-source-partition": "0",
      "revenant-original-bytes": String(huge.length),
      "revenant-original-sha256": sha,
      "revenant-truncated": "true",
    });
    expect(big.value!.equals(huge.subarray(0, 64 * 1024))).toBe(true);
    const small = letters.find((l) => l.headers["revenant-source-offset"] === String(before.length + 1))!;
    expect(small.value!.toString()).toBe("{not json");
    expect(small.headers["revenant-truncated"]).toBeUndefined();
  }, 120_000);

  it("makes every MergeTree table fsync its parts on insert", async () => {
    const tables = await queryRows<{ name: string; q: string }>(
      store().reader,
      "test",
      "SELECT name, create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'",
    );
    const names = tables.map((t) => t.name);
    // Alert and detection tables are covered by the same rule, whatever their names.
    for (const wanted of ["events", "dead_letters", "users", "sessions", "api_keys", "audit_log"]) {
      expect(names).toContain(wanted);
    }
    const lax = tables.filter((t) => !t.q.includes("fsync_after_insert = 1") || !t.q.includes("fsync_part_directory = 1")).map((t) => t.name);
    expect(lax).toEqual([]);
  });
});
