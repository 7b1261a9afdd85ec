/**
 * Kafka clients from configuration. Connecting to an external cluster is configuration
 * only: KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL_* (see lib/config).
 */
import { Kafka, logLevel, Partitioners, type Admin, type ITopicConfig, type KafkaConfig, type Message, type Producer, type SASLOptions } from "kafkajs";
import { readFileSync } from "node:fs";
import { config, type Config } from "./config";
import { logger } from "./log";

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

export function createKafka(cfg: Config = config(), clientIdSuffix = "", overrides: Partial<KafkaConfig> = {}): Kafka {
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
    ...overrides,
  });
}

/**
 * Creates topics and returns once every one of them answers metadata. A broker that has just
 * started from an existing data directory answers "This server does not host this
 * topic-partition" (UNKNOWN_TOPIC_OR_PARTITION, retriable) for a few seconds, and kafkajs's
 * `waitForLeaders` only waits out LEADER_NOT_AVAILABLE: so retriable errors are retried here,
 * for up to 30 s. A topic that already exists is not an error.
 */
export async function createTopicsWhenReady(admin: Admin, topics: ITopicConfig[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.createTopics({ topics, waitForLeaders: true }).catch((err: Error & { type?: string }) => {
        if (err.type !== "TOPIC_ALREADY_EXISTS") throw err; // another process created it meanwhile
      });
      await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      return;
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
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
    if (wanted.length) await createTopicsWhenReady(admin, wanted);
  } finally {
    await admin.disconnect();
  }
}

const producerKey = Symbol.for("revenant.producer");
type WithProducer = typeof globalThis & { [producerKey]?: Promise<Producer> };

/**
 * One producer per process for HTTP ingest, connected on first use. A caller is waiting, so
 * it gives up within about two seconds when the broker is unreachable (kafkajs's defaults
 * retry for ~20 s) and the route answers 503 with Retry-After. Not idempotent, because
 * kafkajs requires unlimited retries for that: a request repeated after a failure is
 * absorbed by event_id deduplication instead (docs/SEMANTICS.md).
 */
export function sharedProducer(): Promise<Producer> {
  const g = globalThis as WithProducer;
  g[producerKey] ??= (async () => {
    const kafka = createKafka(config(), "-producer", {
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      maxInFlightRequests: 1,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
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

/**
 * Bytes of message values and keys per produce request. The broker refuses a partition's
 * batch over message.max.bytes (2 MiB on the project's broker, 1 MiB by Kafka's default),
 * and one request may put all its messages on one partition (one agent's events share a
 * key), so requests are cut at 1 MiB. A single message over it still goes alone.
 */
export const PRODUCE_REQUEST_BYTES = 1024 * 1024;

/** Produces messages in order, in as many requests as PRODUCE_REQUEST_BYTES needs. */
export async function sendInRequests(producer: Producer, topic: string, messages: Message[], maxBytes = PRODUCE_REQUEST_BYTES): Promise<number> {
  let requests = 0;
  for (let start = 0; start < messages.length; ) {
    let end = start;
    let bytes = 0;
    while (end < messages.length) {
      const m = messages[end];
      let size = byteSize(m.value) + byteSize(m.key) + 64;
      for (const h in m.headers ?? {}) size += Buffer.byteLength(h) + byteSize(m.headers![h] as Message["value"]) + 8;
      if (end > start && bytes + size > maxBytes) break;
      bytes += size;
      end++;
    }
    await producer.send({ topic, messages: messages.slice(start, end), acks: -1 });
    requests++;
    start = end;
  }
  return requests;
}

function byteSize(v: Message["value"] | Message["key"]): number {
  if (v == null) return 0;
  return typeof v === "string" ? Buffer.byteLength(v) : v.length;
}

const UNREACHABLE = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSTopicMetadataNotLoaded",
  "KafkaJSGroupCoordinatorNotFound",
  "KafkaJSTimeout",
  "KafkaJSLockTimeout",
]);

/**
 * Errors that mean "the broker cannot be reached, or has no leader, right now": a retry
 * later can succeed (HTTP 503). kafkajs wraps the cause (retries given up, a non-retriable
 * wrapper around a connection error), so the whole cause chain is searched; a record
 * refused for its content is not unavailability.
 */
export function kafkaUnavailable(err: unknown): boolean {
  let e = err as { name?: string; retriable?: boolean; type?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 8; depth++, e = e.cause as typeof e) {
    if (UNREACHABLE.has(e.name ?? "")) return true;
    if (e.name === "KafkaJSProtocolError" && e.retriable === true) return true;
    if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT/.test(String((e as Error).message))) return true;
  }
  return false;
}

/** Broker errors that refuse a record for its size or shape: retrying the same record cannot help. */
export function refusedForSize(err: unknown): boolean {
  for (let e = err as { type?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.type === "MESSAGE_TOO_LARGE" || e.type === "RECORD_LIST_TOO_LARGE" || e.type === "INVALID_RECORD") return true;
    if (/too large|larger than the max/i.test(e.message ?? "")) return true;
  }
  return false;
}
