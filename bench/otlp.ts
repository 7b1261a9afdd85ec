/**
 * npm run bench:otlp — OpenTelemetry tool-call spans vs native events, same run, same engine.
 *
 * A. Native: BENCH_EVENTS schema-v1 actions on the events topic → the ingest consumer →
 *    ClickHouse → detection (as bench/ingest.ts measures), before the OTLP phases and again
 *    after them; the reference is the mean of the two.
 * B. OTLP protobuf and C. OTLP JSON: the same number of execute_tool spans, 500 per export
 *    message (a Collector batches spans per message), on the OTLP topic → the OTLP consumer
 *    (decode and map in its worker thread; validation, span store and agent resolution) → the
 *    same writer and detection as the native events (ingest/consumer.ts, submit).
 *    Timed from the moment the consumers have joined their groups until the last action is
 *    stored and evaluated.
 * Each phase starts from input already on Kafka and from a quiet engine: the background merges of
 * the phase before have finished (quietEngine), so that no phase pays for another's parts.
 * Prints events/s and OTLP/native (target ≥ 0.7).
 *   BENCH_EVENTS=50000 npm run bench:otlp    (a shorter run)
 */
import { create } from "@bufbuild/protobuf";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Partitioners } from "kafkajs";
import { config, resetConfig } from "@/lib/config";
import { createKafka, createTopicsWhenReady, ensureTopics } from "@/lib/kafka";
import { closeStore, openSession, queryRows, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { runtimeStatus } from "@/lib/runtime-status";
import { encodeOtlp, type OtlpEncoding } from "@/lib/otlp/codec";
import { ExportTraceServiceRequestSchema } from "@/lib/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";

import { OtlpConsumer } from "@/ingest/otlp-consumer";
import { benchEnvironment, benchEvent, benchIngestPath, fmt, threadCpuDelta, threadCpuSeconds } from "./common";

const TOTAL = Number(process.env.BENCH_EVENTS ?? 200_000);
const SPANS_PER_MESSAGE = 500;

const str = (key: string, value: string) => ({ key, value: { value: { case: "stringValue" as const, value } } });

/** One export: one agent's resource with SPANS_PER_MESSAGE tool-call spans. */
function exportMessage(first: number, count: number, baseMs: number, encoding: OtlpEncoding, tag: string): Buffer {
  const agent = first % 500;
  const spans = [];
  for (let i = first; i < first + count; i++) {
    const id = Buffer.alloc(24);
    id.writeUInt32BE(i, 12);
    id.write(tag.padEnd(4, "x").slice(0, 4), 0);
    id.writeUInt32BE(i + 1, 20);
    const startNs = BigInt(baseMs + i) * 1_000_000n;
    spans.push({
      traceId: id.subarray(0, 16), spanId: id.subarray(16, 24), name: `execute_tool search`, kind: 1,
      startTimeUnixNano: startNs, endTimeUnixNano: startNs + 3_000_000n,
      attributes: [
        str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", `tool://search/${i % 97}`),
        str("gen_ai.tool.call.id", `${tag}-call-${i}`), str("gen_ai.conversation.id", `sess-${agent}-${i >> 12}`),
      ],
    });
  }
  const req = create(ExportTraceServiceRequestSchema, {
    resourceSpans: [{
      resource: { attributes: [
        str("service.name", `mcp-tools-${agent % 3}`), str("gen_ai.agent.id", `spiffe://acme.prod/pipeline-${agent % 40}/agent-${agent}`),
        str("revenant.credential.id", `tok-${agent}-${first >> 14}`), str("revenant.pipeline.id", `pipeline-${agent % 40}`), str("revenant.layer", "tool"),
      ] },
      scopeSpans: [{ scope: { name: "bench" }, spans }],
    }],
  });
  return Buffer.from(encodeOtlp(req, encoding));
}

async function produce(topic: string, make: (i: number) => { value: Buffer | string; count: number }): Promise<void> {
  const producer = createKafka(config(), "-bench").producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const inflight: Promise<unknown>[] = [];
  let batch: { value: Buffer | string }[] = [];
  let bytes = 0;
  for (let i = 0; i < TOTAL; ) {
    const m = make(i);
    i += m.count;
    batch.push({ value: m.value });
    bytes += m.value.length;
    if (bytes > 1_000_000 || i >= TOTAL) {
      inflight.push(producer.send({ topic, messages: batch, acks: 1 }));
      batch = [];
      bytes = 0;
      if (inflight.length >= 8) await inflight.shift();
    }
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

/**
 * Waits (at most a minute) until the embedded engine runs no merge: the parts an earlier phase
 * wrote are merged in the background for seconds after it ends, on the same two cores.
 */
async function quietEngine(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [{ running }] = await queryRows<{ running: number }>(store().reader, "bench:merges", "SELECT toUInt32(count()) AS running FROM system.merges");
    if (running === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs the ingest consumer (and the OTLP consumer when asked) until `TOTAL` more events are stored. */
async function ingest(withOtlp: boolean): Promise<number> {
  const cfg = config();
  const s = store();
  const { consumer, stop } = await benchIngestPath();
  const status = runtimeStatus().ingest;
  const target = status.stored + TOTAL;
  // As the worker runs it (ingest/jobs.ts): its own ClickHouse session.
  const own = withOtlp ? openSession(s, cfg) : null;
  await quietEngine();
  const otlp = own ? new OtlpConsumer(cfg, createKafka(cfg, "-bench-otlp"), own.client, consumer) : null;
  // Timed from the moment the consumers have joined their groups (and the OTLP consumer's
  // worker thread has loaded): a worker does that once when it starts, not per event, and
  // the two kinds of phase start different numbers of consumers and threads. kafkajs starts
  // fetching as start() returns, so no event is stored before the clock starts.
  const started = performance.now();
  await Promise.all([consumer.start(), otlp?.start()]);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const threads0 = threadCpuSeconds();
  // How long the main thread's event loop is held up: in embedded mode the same thread serves
  // the API (credential status lookups on tool calls' paths among them).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  console.log(`  (start-up, not timed: ${((t0 - started) / 1000).toFixed(2)} s to join${otlp ? " and load the OTLP thread" : ""}; ${fmt(status.stored - (target - TOTAL))} events stored by then)`);
  while (status.stored < target) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const threads1 = threadCpuSeconds();
  // CPU seconds of this process (every thread: JavaScript, the OTLP consumer's worker thread and
  // the embedded ClickHouse engine): on a shared machine they vary much less than elapsed time.
  loopDelay.disable();
  console.log(`  (main event loop delay: p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms)`);
  console.log(`  (process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)`);
  console.log(`  (by thread: ${threadCpuDelta(threads0, threads1)})`);
  await otlp?.stop();
  await own?.close();
  await stop();
  return seconds;
}

async function main() {
  const { id } = await benchEnvironment("otlp", { INGEST_BATCH_SIZE: process.env.INGEST_BATCH_SIZE ?? "20000" });
  await migrate(store().writer);
  const kafka = createKafka(config(), "-bench-admin");
  await ensureTopics(kafka, config());
  const admin = kafka.admin();
  await admin.connect();
  const otlpTopics = { otlp_proto: `bench.otlp.${id}.proto`, otlp_json: `bench.otlp.${id}.json` } as const;
  await createTopicsWhenReady(admin, Object.values(otlpTopics).map((topic) => ({ topic, numPartitions: config().KAFKA_TOPIC_PARTITIONS })));
  await admin.disconnect();
  const base = Date.now() - 3600_000;
  console.log(`bench:otlp — ${fmt(TOTAL)} tool calls per phase; native events ~${benchEvent(1, base).length} B; OTLP exports of ${SPANS_PER_MESSAGE} spans`);

  // Native events are measured before and after the OTLP phases: each phase finds the tables
  // the phases before it filled, so the reference is their mean, not the first phase alone.
  const nativePhase = async (round: number): Promise<number> => {
    await produce(config().KAFKA_TOPIC, (i) => ({ value: benchEvent(i + round * TOTAL, base), count: 1 }));
    const seconds = await ingest(false);
    console.log(`native events (kafkajs → validate → ClickHouse → detection):   ${seconds.toFixed(2)} s, ${fmt(TOTAL / seconds)} events/s`);
    return seconds;
  };
  const before = await nativePhase(0);

  const results: [OtlpEncoding, number][] = [];
  for (const encoding of ["otlp_proto", "otlp_json"] as const) {
    const bytes = exportMessage(0, SPANS_PER_MESSAGE, base, encoding, "size").length;
    await produce(otlpTopics[encoding], (i) => ({ value: exportMessage(i, Math.min(SPANS_PER_MESSAGE, TOTAL - i), base, encoding, encoding.slice(5)), count: Math.min(SPANS_PER_MESSAGE, TOTAL - i) }));
    Object.assign(process.env, { OTLP_KAFKA_TOPIC: otlpTopics[encoding], OTLP_KAFKA_ENCODING: encoding, OTLP_KAFKA_GROUP_ID: `bench-otlp-${id}-${encoding}` });
    resetConfig();
    const seconds = await ingest(true);
    results.push([encoding, seconds]);
    console.log(`OTLP ${encoding.padEnd(10)} (~${fmt(bytes / SPANS_PER_MESSAGE)} B/span; decode → validate → spans → same writer and detection): ${seconds.toFixed(2)} s, ${fmt(TOTAL / seconds)} events/s`);
  }
  const after = await nativePhase(1);
  const native = (before + after) / 2;
  console.log(`native reference: ${fmt(TOTAL / native)} events/s (mean time of the two native phases)`);
  for (const [encoding, seconds] of results) console.log(`ratio OTLP ${encoding} / native: ${(native / seconds).toFixed(2)}  (target ≥ 0.70)`);
  await closeStore();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
