/**
 * Kafka clients from configuration. Connecting to an external cluster is configuration
 * only: KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL_* (see lib/config).
 */
import { Kafka, logLevel, Partitioners, type Producer, type SASLOptions } from "kafkajs";
import { readFileSync } from "node:fs";
import { config, type Config } from "./config";
import { logger } from "./log";

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

export function createKafka(cfg: Config = config(), clientIdSuffix = ""): Kafka {
  const sasl: SASLOptions | undefined = cfg.KAFKA_SASL_MECHANISM
    ? ({ mechanism: cfg.KAFKA_SASL_MECHANISM, username: cfg.KAFKA_SASL_USERNAME!, password: cfg.KAFKA_SASL_PASSWORD! } as SASLOptions)
    : undefined;
  const ssl = cfg.KAFKA_SSL
    ? {
        rejectUnauthorized: cfg.KAFKA_SSL_REJECT_UNAUTHORIZED,
        ...(cfg.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(cfg.KAFKA_SSL_CA_FILE, "utf8")] } : {}),
      }
    : undefined;
  return new Kafka({
    clientId: cfg.KAFKA_CLIENT_ID + clientIdSuffix,
    brokers: cfg.KAFKA_BROKERS,
    ssl,
    sasl,
    // kafkajs logs its own retries at ERROR; they are expected while a broker restarts.
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      // Drop the broker's password-bearing config if kafkajs ever logs it.
      delete (extra as Record<string, unknown>).sasl;
      logger()[LEVELS[level] ?? "info"]({ kafka: namespace, ...extra }, message);
    },
  });
}

/** Creates the event and dead-letter topics if they are missing (idempotent). */
export async function ensureTopics(kafka: Kafka, cfg: Config = config()): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: cfg.KAFKA_TOPIC, numPartitions: cfg.KAFKA_TOPIC_PARTITIONS },
      { topic: cfg.KAFKA_DLQ_TOPIC, numPartitions: 1 },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length) await admin.createTopics({ topics: wanted, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

const producerKey = Symbol.for("revenant.producer");
type WithProducer = typeof globalThis & { [producerKey]?: Promise<Producer> };

/** One idempotent producer per process, connected on first use (HTTP ingest, dead letters). */
export function sharedProducer(): Promise<Producer> {
  const g = globalThis as WithProducer;
  g[producerKey] ??= (async () => {
    const producer = createKafka(config(), "-producer").producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    return producer;
  })().catch((err) => {
    delete g[producerKey];
    throw err;
  });
  return g[producerKey]!;
}

export async function closeSharedProducer(): Promise<void> {
  const g = globalThis as WithProducer;
  const p = g[producerKey];
  delete g[producerKey];
  if (p) await (await p.catch(() => null))?.disconnect();
}
