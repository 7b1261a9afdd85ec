/**
 * Steady background traffic for bench:scale's incident, in its own process: the events of
 * bench/background-load.ts, but sent in requests of at most 2,000 messages, so that a tick
 * that falls behind on a busy machine catches up without exceeding the broker's message size.
 *   RATE=10000 SECONDS=30 KAFKA_BROKERS=… KAFKA_TOPIC=… node --import tsx bench/scale-load.ts
 */
import { Partitioners } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { benchEvent } from "./common";

const rate = Number(process.env.RATE ?? 10_000);
const seconds = Number(process.env.SECONDS ?? 30);
const MAX_PER_SEND = 2_000;

const producer = createKafka(config(), "-scale-load").producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const start = Date.now();
let sent = 0;
while (Date.now() - start < seconds * 1000) {
  const due = Math.floor(((Date.now() - start) / 1000) * rate);
  while (sent < due) {
    const messages = [];
    for (const end = Math.min(due, sent + MAX_PER_SEND); sent < end; sent++) messages.push({ value: benchEvent(sent, Date.now() - 60_000) });
    await producer.send({ topic: config().KAFKA_TOPIC, messages, acks: 1 });
  }
  await new Promise((r) => setTimeout(r, 100));
}
await producer.disconnect();
process.stdout.write(`LOAD_RESULT ${JSON.stringify({ sent, seconds: (Date.now() - start) / 1000 })}\n`);
