/**
 * Steady background traffic for bench:detect, in its own process so that producing it
 * does not share the event loop with the worker under test.
 *   RATE=10000 SECONDS=60 KAFKA_BROKERS=… KAFKA_TOPIC=… npx tsx bench/background-load.ts
 */
import { Partitioners } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import { benchEvent } from "./common";

const rate = Number(process.env.RATE ?? 10_000);
const seconds = Number(process.env.SECONDS ?? 60);

const producer = createKafka(config(), "-load").producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const start = Date.now();
let sent = 0;
const tickMs = 100;
while (Date.now() - start < seconds * 1000) {
  const due = Math.floor(((Date.now() - start) / 1000) * rate);
  const messages = [];
  for (; sent < due; sent++) messages.push({ value: benchEvent(sent, Date.now() - 60_000) });
  // At most 2,000 messages (~700 kB) per request: a tick that fell behind on a busy machine
  // would otherwise send one request over the broker's 2 MiB limit.
  for (let i = 0; i < messages.length; i += 2_000) await producer.send({ topic: config().KAFKA_TOPIC, messages: messages.slice(i, i + 2_000), acks: 1 });
  await new Promise((r) => setTimeout(r, tickMs));
}
await producer.disconnect();
process.stdout.write(JSON.stringify({ sent, seconds: (Date.now() - start) / 1000 }) + "\n");
