/**
 * Every setting Revenant reads, validated once with defaults (README.md,
 * "Settings"). The rest of the code imports `config()` instead of reading
 * process.env, and a bad value stops the process at start with the setting's name.
 * README.md lists the same settings; keep the two in step.
 */
import path from "node:path";
import { z } from "zod";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");

const csv = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));

/** "gateway=500,tool=0" → { gateway: 500, tool: 0 } */
const layerGrace = z.string().transform((v, ctx) => {
  const out: Record<string, number> = {};
  for (const part of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [layer, ms] = part.split("=");
    const n = Number(ms);
    if (!layer || !Number.isInteger(n) || n < 0) {
      ctx.addIssue({ code: "custom", message: `expected layer=milliseconds pairs, got "${part}"` });
      return z.NEVER;
    }
    out[layer] = n;
  }
  return out;
});

const schema = z.object({
  PORT: z.coerce.number().int().positive().default(3000),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /**
   * Which jobs this process runs: "web" (the Next.js app and API) and "worker" (the Kafka
   * consumer, detection and webhook delivery). Embedded mode needs both in one process.
   */
  REVENANT_ROLES: csv.pipe(z.array(z.enum(["web", "worker"]))).default(["web", "worker"]),
  REVENANT_DATA_DIR: z.string().default(".data"),
  REVENANT_DEMO: bool.default(false),

  KAFKA_BROKERS: csv.default(["127.0.0.1:9092"]),
  KAFKA_CLIENT_ID: z.string().default("revenant"),
  KAFKA_TOPIC: z.string().min(1).default("revenant.events"),
  KAFKA_DLQ_TOPIC: z.string().min(1).default("revenant.events.dlq"),
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(256).default(3),
  /** The covered-credentials feed for enforcement points (lib/feed/publisher.ts): compacted, keyed by credential id. */
  KAFKA_FEED_TOPIC: z.string().min(1).default("revenant.covered-credentials"),
  KAFKA_FEED_PARTITIONS: z.coerce.number().int().min(1).max(256).default(1),
  /** The status lookup answers from a copy of the feed kept in memory once it has caught up (lib/feed/mirror.ts). */
  REVENANT_LOOKUP_MIRROR: bool.default(true),
  KAFKA_GROUP_ID: z.string().min(1).default("revenant-ingest"),
  KAFKA_SSL: bool.default(false),
  KAFKA_SSL_CA_FILE: z.string().optional(),
  KAFKA_SSL_REJECT_UNAUTHORIZED: bool.default(true),
  KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"]).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),

  /** Flush a batch to ClickHouse at this many rows… */
  INGEST_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** …or this long after its first row, whichever comes first. */
  INGEST_FLUSH_MS: z.coerce.number().int().min(1).max(60_000).default(200),

  /** Unset: the embedded engine (chdb) under REVENANT_DATA_DIR/chdb. Set: a ClickHouse server over HTTP. */
  CLICKHOUSE_URL: z.string().url().optional(),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("default"),

  DETECTION_GRACE_MS: z.coerce.number().int().min(0).default(0),
  DETECTION_LAYER_GRACE_MS: layerGrace.default({}),
  /**
   * A detection update that only grows an alert's counts is announced (alert.updated) at most
   * once per this interval per alert, with the latest counts; other changes go out at once.
   */
  REVENANT_ALERT_UPDATE_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),

  REVENANT_ADMIN_EMAIL: z.string().optional(),
  REVENANT_ADMIN_PASSWORD: z.string().optional(),
  REVENANT_BOOTSTRAP_API_KEY: z.string().optional(),
  REVENANT_WEBHOOK_ALLOWLIST: csv.default([]),

  /** How long a sign-in lasts. */
  REVENANT_SESSION_TTL_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
  /** Secure flag on cookies: "auto" sets it when the request came over https (or X-Forwarded-Proto says so). */
  REVENANT_COOKIE_SECURE: z.enum(["auto", "true", "false"]).default("auto"),
  /** Sign-in attempts per minute, per client address and per email. */
  REVENANT_LOGIN_RATE_PER_MIN: z.coerce.number().int().min(1).default(10),
  /** POST /api/v1/events requests per minute per API key or user (each may carry an array of events). */
  REVENANT_EVENTS_RATE_PER_MIN: z.coerce.number().int().min(1).default(1200),
  /** Largest request body accepted by the API, except POST /api/v1/events. */
  REVENANT_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Largest body accepted by POST /api/v1/events (an array of events). */
  REVENANT_EVENTS_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(20 * 1024 * 1024),

  /** A webhook attempt that has no complete answer after this long counts as failed (docs/WEBHOOKS.md: 10 s). */
  REVENANT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** First retry delay; each further retry doubles it (with jitter) up to the maximum. Tests lower it. */
  REVENANT_WEBHOOK_BACKOFF_BASE_MS: z.coerce.number().int().min(1).default(5_000),
  REVENANT_WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(1).default(60 * 60 * 1000),
  /** Failed deliveries are retried for this long after they were created (docs/WEBHOOKS.md: at least 24 h). */
  REVENANT_WEBHOOK_RETRY_HOURS: z.coerce.number().positive().default(25),
  /** Fallback poll of the outbox and of due retries; new alert changes wake the dispatcher at once. */
  REVENANT_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).default(1_000),
  /** Revenant's own address as receivers see it: the SSF transmitter's issuer and the base of its endpoints. */
  REVENANT_PUBLIC_URL: z.string().url().default("http://localhost:3000"),
  /** A new SSF signing key is made when the newest is this old; older keys stay in the JWKS while their SETs may still be delivered. */
  REVENANT_SSF_KEY_ROTATION_HOURS: z.coerce.number().positive().default(24 * 7),
  /** Deliveries sent at the same time. */
  REVENANT_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
});

export type Config = z.infer<typeof schema> & { chdbPath: string };

export class ConfigError extends Error {}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const c = parsed.data;
  if (c.KAFKA_SASL_MECHANISM && (!c.KAFKA_SASL_USERNAME || !c.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError("Invalid configuration:\n  KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM");
  }
  return { ...c, chdbPath: path.resolve(c.REVENANT_DATA_DIR, "chdb") };
}

const globalKey = Symbol.for("revenant.config");
type WithConfig = typeof globalThis & { [globalKey]?: Config };

/** The process's configuration, parsed from process.env on first use. */
export function config(): Config {
  const g = globalThis as WithConfig;
  g[globalKey] ??= parseConfig(process.env);
  return g[globalKey]!;
}

/** For tests: drop the cached config so the next config() re-reads process.env. */
export function resetConfig(): void {
  delete (globalThis as WithConfig)[globalKey];
}
