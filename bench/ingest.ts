/**
 * npm run bench:ingest — 1,000,000 schema-valid events (~350 B) from Kafka into ClickHouse.
 *
 * A. Revenant's ingest path: kafkajs consumer → validation → batched inserts → detection
 *    hook → offset commits (the real IngestConsumer and DetectionEngine).
 * B. Reference, same run, same topic: ClickHouse's own Kafka table engine with a
 *    materialized view parsing the same JSON into a table of the same shape (without
 *    Revenant's views, validation, dead letters or detection). Its flush interval is set
 *    to 250 ms so that the default 7.5 s timer does not make the reference look slow.
 * Prints both rates and A/B. Target: A ≥ 50,000 events/s and A/B ≥ 1.
 *   BENCH_EVENTS=200000 npm run bench:ingest    (a shorter run)
 *   BENCH_FSYNC=0 npm run bench:ingest          (tables without fsync on insert, as before
 *                                                lib/store/durability.ts: the cost of durability)
 */
import { Partitioners } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka, ensureTopics } from "@/lib/kafka";
import { closeStore, command, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { runtimeStatus } from "@/lib/runtime-status";
import { benchEnvironment, benchEvent, benchIngestPath, fmt } from "./common";

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);

async function produce(): Promise<number> {
  const cfg = config();
  const kafka = createKafka(cfg, "-bench");
  await ensureTopics(kafka, cfg);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const base = Date.now() - 3600_000;
  const t0 = performance.now();
  // 5,000 × 350 B ≈ 1.7 MB per request: under the broker's 2 MiB message.max.bytes even on one partition.
  const chunk = 5_000;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < TOTAL; i += chunk) {
    const messages = [];
    for (let j = i; j < Math.min(TOTAL, i + chunk); j++) messages.push({ value: benchEvent(j, base) });
    inflight.push(producer.send({ topic: cfg.KAFKA_TOPIC, messages, acks: 1 }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
  return (performance.now() - t0) / 1000;
}

async function revenantIngest(): Promise<number> {
  const s = store();
  const { consumer, stop } = await benchIngestPath();
  const status = runtimeStatus().ingest;
  const t0 = performance.now();
  await consumer.start();
  while (status.stored < TOTAL) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - t0) / 1000;
  await stop();
  const n = Number((await queryRows<{ n: number }>(s.reader, "bench:ingest", "SELECT count() AS n FROM events FINAL"))[0].n);
  if (n !== TOTAL) throw new Error(`revenant stored ${n} events, expected ${TOTAL}`);
  return seconds;
}

async function clickhouseKafkaEngine(): Promise<number> {
  const cfg = config();
  const c = store().writer;
  await command(c, "bench:ingest", "CREATE TABLE bench_events AS events");
  await command(
    c,
    "bench:ingest",
    `CREATE TABLE bench_kafka (raw String) ENGINE = Kafka
      SETTINGS kafka_broker_list = {brokers:String}, kafka_topic_list = {topic:String},
               kafka_group_name = {group:String}, kafka_format = 'JSONAsString',
               kafka_num_consumers = 1, kafka_max_block_size = 65536, kafka_thread_per_consumer = 1,
               kafka_flush_interval_ms = 250`,
    { brokers: cfg.KAFKA_BROKERS.join(","), topic: cfg.KAFKA_TOPIC, group: `${cfg.KAFKA_GROUP_ID}-chkafka` },
  );
  const t0 = performance.now();
  await command(
    c,
    "bench:ingest",
    `CREATE MATERIALIZED VIEW bench_kafka_mv TO bench_events AS
      SELECT JSONExtractString(raw, 'event_id') AS event_id, JSONExtractString(raw, 'type') AS type,
             parseDateTime64BestEffort(JSONExtractString(raw, 'time'), 3, 'UTC') AS time,
             JSONExtractString(raw, 'agent_id') AS agent_id, JSONExtractString(raw, 'pipeline_id') AS pipeline_id,
             JSONExtractString(raw, 'session_id') AS session_id, JSONExtractString(raw, 'credential_id') AS credential_id,
             JSONExtractString(raw, 'layer') AS layer, JSONExtractString(raw, 'source') AS source,
             JSONExtractString(raw, 'action') AS action, JSONExtractString(raw, 'resource') AS resource,
             JSONExtractString(raw, 'decision') AS decision, JSONExtractString(raw, 'sensitivity') AS sensitivity
      FROM bench_kafka`,
  );
  for (;;) {
    const n = Number((await queryRows<{ n: number }>(store().reader, "bench:ingest", "SELECT count() AS n FROM bench_events"))[0].n);
    if (n >= TOTAL) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  await command(c, "bench:ingest", "DROP TABLE bench_kafka_mv");
  await command(c, "bench:ingest", "DROP TABLE bench_kafka");
  return seconds;
}

async function main() {
  await benchEnvironment("ingest", { INGEST_BATCH_SIZE: process.env.INGEST_BATCH_SIZE ?? "20000" });
  await migrate(store().writer);
  const fsync = process.env.BENCH_FSYNC !== "0";
  if (!fsync) {
    // Every MergeTree table back to the engine's defaults (the reference copies events' settings).
    const tables = await queryRows<{ name: string }>(store().writer, "bench:ingest", "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'");
    for (const { name } of tables) {
      await command(store().writer, "bench:ingest", `ALTER TABLE \`${name}\` MODIFY SETTING fsync_after_insert = 0, fsync_part_directory = 0`);
    }
  }
  console.log(`bench:ingest — ${fmt(TOTAL)} events of ~${benchEvent(1, Date.now()).length} bytes, topic ${config().KAFKA_TOPIC} (${config().KAFKA_TOPIC_PARTITIONS} partitions), fsync on insert: ${fsync ? "on" : "off"}`);
  const produceS = await produce();
  console.log(`produced in ${produceS.toFixed(1)} s (${fmt(TOTAL / produceS)} events/s)`);
  const ours = await revenantIngest();
  const theirs = await clickhouseKafkaEngine();
  console.log(`\nRevenant ingest (kafkajs → validate → ClickHouse → detection → commit): ${ours.toFixed(2)} s, ${fmt(TOTAL / ours)} events/s`);
  console.log(`ClickHouse Kafka engine + materialized view (reference):              ${theirs.toFixed(2)} s, ${fmt(TOTAL / theirs)} events/s`);
  console.log(`ratio Revenant / Kafka engine: ${(theirs / ours).toFixed(2)}  (target ≥ 1.00; absolute target ≥ 50,000 events/s)`);
  await closeStore();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
