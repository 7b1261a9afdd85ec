/**
 * The OTLP consumer's worker thread (started by ingest/otlp-thread.ts): decodes and maps a
 * batch's export messages (lib/otlp/batch.ts) and produces its actions to the events topic.
 * Both are pure JavaScript work, about two thirds of what an OTLP span costs; here they run
 * on the second core, beside the thread that stores spans and ingests the events topic.
 *
 * A batch's actions are produced here once it is mapped, while the consumer stores its spans:
 * they never cross between threads.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Partitioners, type ICustomPartitioner, type Producer } from "kafkajs";
import type { Config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { otlpMapping } from "@/lib/otlp";
import { mapBatch, type ReadyAction } from "@/lib/otlp/batch";
import type { ThreadReply, ThreadRequest } from "./otlp-thread";

const cfg = (workerData as { cfg: Config }).cfg;
const mapping = otlpMapping(cfg);
let producer: Producer | null = null;
let connecting: Promise<Producer> | null = null;

/** Connects on first use, and again after a failed attempt. */
function connected(): Promise<Producer> {
  connecting ??= (async () => {
    // Not idempotent, several requests in flight: a repeated action is harmless (event_id
    // deduplication), and the consumer commits only after every send was acknowledged.
    const p = createKafka(cfg, "-otlp-thread").producer({ createPartitioner: rememberingPartitioner });
    await p.connect();
    producer = p;
    return p;
  })().catch((err) => {
    connecting = null;
    throw err;
  });
  return connecting;
}

async function produce(actions: ReadyAction[]): Promise<number> {
  if (!actions.length) return 0;
  const p = await connected();
  // A produce request's record batch must stay under the broker's message.max.bytes
  // (1 MiB by default): chunks of at most 900 kB, sent together. At most 500 messages a
  // chunk too: kafkajs groups a send's messages per partition by copying the group for
  // every message (quadratic in the chunk size; 2,000-message chunks spent more time
  // there than encoding, measured with npm run bench:otlp and node --cpu-prof).
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < actions.length; ) {
    const messages = [];
    let bytes = 0;
    while (i < actions.length && messages.length < SEND && (messages.length === 0 || bytes + actions[i].json.length < 900_000)) {
      const a = actions[i++];
      bytes += a.json.length + 64;
      messages.push({ key: a.agent_id, value: a.json });
    }
    sends.push(p.send({ topic: cfg.KAFKA_TOPIC, messages, acks: -1 }));
  }
  await Promise.all(sends);
  return actions.length;
}

/** Actions produced in sends of this many (see produce()). */
const SEND = 500;

async function handle(req: ThreadRequest, reply: (id: number, value: unknown, transfer?: ArrayBuffer[]) => void): Promise<unknown> {
  switch (req.kind) {
    case "start":
      await connected();
      return null;
    case "map": {
      const data = Buffer.from(req.data);
      const messages = req.messages.map((m) => ({ offset: m.offset, encoding: m.encoding, value: m.start < 0 ? null : data.subarray(m.start, m.end) }));
      const { ready, ...mapped } = mapBatch({ topic: req.topic, partition: req.partition, mapping, keepContextSpans: cfg.OTLP_KEEP_CONTEXT_SPANS }, messages);
      // The consumer stores the spans while the actions are produced (see ingest/otlp-thread.ts).
      // All of a batch's actions at once, not a message's as soon as it is mapped: the ingest
      // consumer then reads them in large fetches and stores them in few large inserts (sent
      // trickling, they made it flush 1.5-2x as often and use ~8% more CPU in all).
      reply(req.mappedId, mapped, [mapped.spanRows.buffer as ArrayBuffer, mapped.exportRows.buffer as ArrayBuffer]);
      return produce(ready);
    }
    case "produce":
      return produce(req.actions);
    case "stop":
      await producer?.disconnect();
      producer = null;
      connecting = null;
      return null;
  }
}

const post = (r: ThreadReply, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(r, transfer);
parentPort!.on("message", (req: ThreadRequest) => {
  handle(req, (id, value, transfer) => post({ id, ok: true, value }, transfer)).then(
    (value) => post({ id: req.id, ok: true, value }),
    (err: Error) => {
      if (req.kind === "map") post({ id: req.mappedId, ok: false, error: err.message });
      post({ id: req.id, ok: false, error: err.message });
    },
  );
});

/**
 * Kafka's default partitioner (murmur2 of the key), remembering each key's partition: the
 * actions are keyed by agent, and a batch holds thousands of actions of a few agents, so
 * hashing every key again was a measurable share of producing them.
 */
const rememberingPartitioner: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  const known = new Map<string, number>();
  return (args) => {
    const { key, partition: chosen } = args.message;
    if (typeof key !== "string" || (chosen !== undefined && chosen !== null)) return partition(args);
    const id = `${args.topic}\n${args.partitionMetadata.length}\n${key}`;
    let p = known.get(id);
    if (p === undefined) {
      if (known.size >= 100_000) known.clear();
      p = partition(args);
      known.set(id, p);
    }
    return p;
  };
};
