/**
 * An enforcement point's view of the covered-credentials feed, as a real kafkajs consumer: it
 * reads the compacted topic from the start and keeps the latest value of each key (a tombstone
 * removes the key), which is the deny-set.
 */
import type { Consumer } from "kafkajs";
import { randomUUID } from "node:crypto";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";
import type { CredentialStatus } from "@/lib/feed/status";

export interface FeedReader {
  denySet: Map<string, CredentialStatus>;
  /** Arrival time (Date.now()) of the latest message of each key. */
  seenAt: Map<string, number>;
  messages: number;
  stop(): Promise<void>;
}

export async function readFeed(topic = config().KAFKA_FEED_TOPIC): Promise<FeedReader> {
  const consumer: Consumer = createKafka(config(), "-feed-reader").consumer({ groupId: `feed-reader-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const reader: FeedReader = {
    denySet: new Map(),
    seenAt: new Map(),
    messages: 0,
    stop: () => consumer.disconnect(),
  };
  await consumer.run({
    eachMessage: async ({ message }) => {
      const key = message.key!.toString();
      reader.messages++;
      reader.seenAt.set(key, Date.now());
      if (message.value === null) reader.denySet.delete(key);
      else reader.denySet.set(key, JSON.parse(message.value.toString()) as CredentialStatus);
    },
  });
  return reader;
}

/** Reads the whole topic as it is now (up to its high watermarks) with a fresh consumer. */
export async function readFeedToEnd(topic = config().KAFKA_FEED_TOPIC): Promise<Map<string, CredentialStatus>> {
  const admin = createKafka(config(), "-feed-admin").admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const reader = await readFeed(topic);
  const deadline = Date.now() + 30_000;
  while (reader.messages < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await reader.stop();
  if (reader.messages < total) throw new Error(`read ${reader.messages} of ${total} feed messages`);
  return reader.denySet;
}
