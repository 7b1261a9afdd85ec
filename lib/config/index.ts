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

// The role names of lib/auth/roles.ts (not imported: config is imported by everything).
const ROLE_NAMES = ["viewer", "analyst", "investigator", "admin"] as const;

/** "group=role,…" → { group: role } */
const roleMap = z.string().transform((v, ctx) => {
  const out: Record<string, (typeof ROLE_NAMES)[number]> = {};
  for (const part of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.lastIndexOf("=");
    const role = part.slice(eq + 1).trim() as (typeof ROLE_NAMES)[number];
    if (eq <= 0 || !ROLE_NAMES.includes(role)) {
      ctx.addIssue({ code: "custom", message: `expected value=role pairs with a role of ${ROLE_NAMES.join(", ")}, got "${part}"` });
      return z.NEVER;
    }
    out[part.slice(0, eq).trim()] = role;
  }
  return out;
});

/** "svc-a=gateway,svc-b=tool" → { "svc-a": "gateway", "svc-b": "tool" } */
const serviceLayers = z.string().transform((v, ctx) => {
  const out: Record<string, string> = {};
  for (const part of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    const at = part.lastIndexOf("=");
    const service = part.slice(0, at).trim(), layer = part.slice(at + 1).trim();
    if (at <= 0 || !layer || layer.length > 64) {
      ctx.addIssue({ code: "custom", message: `expected service.name=layer pairs, got "${part}"` });
      return z.NEVER;
    }
    out[service] = layer;
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
  /**
   * A consumer that dies without leaving its group (SIGKILL, power loss) holds its
   * partitions this long: its successor waits for it. Brokers accept 6,000–300,000 by default.
   */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),
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

  /**
   * Limits on the API's reads (the reader client): a query running longer is stopped with a
   * clear error instead of holding a reader session (in embedded mode CLICKHOUSE_READ_SESSIONS
   * sessions serve every API read), and a result larger than this many rows is refused (pages
   * are ≤ 1,000 rows; anything near the cap is a bug, not a page).
   */
  CLICKHOUSE_READ_TIMEOUT_S: z.coerce.number().positive().max(3600).default(10),
  CLICKHOUSE_READ_MAX_ROWS: z.coerce.number().int().min(1).default(100_000),
  // Embedded mode: chdb sessions serving the API's reads side by side (lib/store/session-pool.ts).
  CLICKHOUSE_READ_SESSIONS: z.coerce.number().int().min(1).max(16).default(3),
  /**
   * Embedded mode: the nice value of the engine's merge threads while they merge (its server
   * setting os_threads_nice_value_merge_mutate), so that ingest, detection and the API take the
   * CPU first and merges use what is left (lib/store/clickhouse.ts). 0: as the engine's own.
   */
  CLICKHOUSE_MERGE_NICE: z.coerce.number().int().min(0).max(19).default(10),

  /** OpenTelemetry intake from Kafka (docs/INTAKES.md, "OpenTelemetry"): the topic an OpenTelemetry Collector's kafka exporter writes. */
  OTLP_KAFKA_ENABLED: bool.default(true),
  OTLP_KAFKA_TOPIC: z.string().min(1).default("otlp_spans"),
  /** The Collector's `encoding`; a message's content-type header, when present, overrides it. */
  OTLP_KAFKA_ENCODING: z.enum(["otlp_proto", "otlp_json"]).default("otlp_proto"),
  /** Consumer group of the OTLP intake (default: KAFKA_GROUP_ID + "-otlp"). */
  OTLP_KAFKA_GROUP_ID: z.string().min(1).optional(),
  /** service.name=layer pairs for spans that carry no revenant.layer attribute. */
  OTLP_SERVICE_LAYERS: serviceLayers.default({}),
  OTLP_DEFAULT_LAYER: z.string().min(1).max(64).default("tool"),
  /** A tool span with one of these http.response.status_code values is a refused (deny) action. */
  OTLP_DENY_HTTP_STATUS: csv.pipe(z.array(z.string().regex(/^[1-5][0-9][0-9]$/, "an HTTP status code").transform(Number))).default([401, 403]),
  /** …and so is one whose error.type is one of these (case-insensitive). */
  OTLP_DENY_ERROR_TYPES: csv
    .transform((a) => a.map((s) => s.toLowerCase()))
    .default(["401", "403", "unauthorized", "unauthenticated", "forbidden", "permission_denied", "access_denied", "invalid_token", "insufficient_scope"]),
  /** Also keep the original of exports with no tool-call or agent span (context for the timeline); every span's place in its trace is kept regardless. */
  OTLP_KEEP_CONTEXT_SPANS: bool.default(false),
  /**
   * Spans that are neither tool calls nor invoke_agent spans (model calls, steps): "timeline"
   * shows them on the agent's timeline as context; "skip" keeps only their place in the trace
   * (ids and parent), which resolving a tool call's agent through them needs.
   */
  OTLP_CONTEXT_SPANS: z.enum(["timeline", "skip"]).default("timeline"),
  /**
   * How long a tool call that names no agent waits for its invoke_agent ancestor
   * (lib/otlp/store.ts). An agent's span is exported when its run ends, so this outlasts the
   * longest run; past it, the tool call is dead-lettered naming the span that never arrived.
   */
  OTLP_ANCESTOR_WAIT_MS: z.coerce.number().int().min(1_000).default(24 * 60 * 60 * 1000),

  /** SSF receiver (docs/INTAKES.md, "Shared Signals"): how long a transmitter's discovery document and keys are cached. */
  SSF_METADATA_TTL_MS: z.coerce.number().int().min(0).default(10 * 60 * 1000),
  /** Least time between two key refetches caused by an unknown kid. */
  SSF_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).default(30_000),
  /** How often poll-delivery streams are polled (RFC 8936). */
  SSF_POLL_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000),
  /** Transmitter hosts or CIDRs allowed although not public (a transmitter on the internal network). */
  SSF_ALLOWLIST: csv.default([]),

  DETECTION_GRACE_MS: z.coerce.number().int().min(0).default(0),
  DETECTION_LAYER_GRACE_MS: layerGrace.default({}),
  /**
   * A detection update that only grows an alert's counts is announced (alert.updated) at most
   * once per this interval per alert, with the latest counts; other changes go out at once.
   */
  REVENANT_ALERT_UPDATE_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  /**
   * While ingest works through a backlog (its flushes are full), summaries and alerts are
   * published at most this often, and derivations from scratch gather for this long between
   * rounds, leaving CPU to ingest; with live traffic both run at once.
   */
  DETECTION_BACKLOG_PAUSE_MS: z.coerce.number().int().min(0).default(10_000),

  REVENANT_ADMIN_EMAIL: z.string().optional(),
  REVENANT_ADMIN_PASSWORD: z.string().optional(),
  /** An admin bearer key for automation, never stored: long enough that guessing it is hopeless. */
  REVENANT_BOOTSTRAP_API_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  REVENANT_WEBHOOK_ALLOWLIST: csv.default([]),

  /** How long a sign-in lasts. */
  REVENANT_SESSION_TTL_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
  /**
   * Secure flag and `__Host-` name prefix on the sign-in cookies. Default "true" when
   * NODE_ENV=production, else "auto" (set them when the request came over https, or
   * X-Forwarded-Proto says so). "false" or "auto" for plain-HTTP development only.
   */
  REVENANT_COOKIE_SECURE: z.enum(["auto", "true", "false"]).optional(),
  /**
   * How many reverse proxies in front of the app append to X-Forwarded-For. The client
   * address is the right-most entry that none of them wrote; 0 means the connecting peer.
   */
  REVENANT_TRUSTED_PROXIES: z.coerce.number().int().min(0).max(16).default(0),
  /** Password hashes (argon2id, 19 MiB each) computed at the same time; more wait their turn. */
  REVENANT_PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Failed authentications (bad bearer key or session cookie) per minute, per client address and per key prefix. */
  REVENANT_AUTH_FAILURES_PER_MIN: z.coerce.number().int().min(1).default(30),
  /**
   * Encrypts webhook signing secrets and SSF stream tokens at rest (AES-256-GCM): 32 bytes, base64 or hex.
   * REVENANT_SECRET_KEY_PREVIOUS (optional) still decrypts what the previous key wrote.
   */
  REVENANT_SECRET_KEY: z.string().optional(),
  REVENANT_SECRET_KEY_PREVIOUS: z.string().optional(),

  /** The app's public origin (https://revenant.example.com): where the identity provider sends people back. */
  REVENANT_PUBLIC_URL: z.string().url().optional(),
  /** OpenID Connect sign-in (lib/auth/oidc.ts): on when the issuer and client id are set. */
  REVENANT_OIDC_ISSUER: z.string().url().optional(),
  REVENANT_OIDC_CLIENT_ID: z.string().min(1).optional(),
  REVENANT_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  REVENANT_OIDC_SCOPES: z.string().default("openid email profile"),
  /** The ID-token or userinfo claim that carries groups or roles (a string or an array of strings). */
  REVENANT_OIDC_ROLE_CLAIM: z.string().min(1).default("groups"),
  /** "soc-admins=admin,soc-analysts=analyst": claim values to roles; a value that is a role name maps to itself. */
  REVENANT_OIDC_ROLE_MAP: roleMap.default({}),
  /** Role for someone whose claim maps to none; unset: such a sign-in is refused. */
  REVENANT_OIDC_DEFAULT_ROLE: z.enum(ROLE_NAMES).optional(),
  /** Password sign-in is switched off (the bootstrap API key still works for automation). */
  REVENANT_SSO_ONLY: bool.default(false),
  /** Lets the OpenID client talk to an http:// issuer. Tests and local development only. */
  REVENANT_OIDC_ALLOW_HTTP: bool.default(false),
  /** Sign-in attempts per minute, per client address and per email. */
  REVENANT_LOGIN_RATE_PER_MIN: z.coerce.number().int().min(1).default(10),
  /** POST /api/v1/events requests per minute per API key or user (each may carry an array of events). */
  REVENANT_EVENTS_RATE_PER_MIN: z.coerce.number().int().min(1).default(1200),
  /** Largest request body accepted by the API, except POST /api/v1/events. */
  REVENANT_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Largest body accepted by POST /api/v1/events (an array of events). */
  REVENANT_EVENTS_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(20 * 1024 * 1024),

  /**
   * Whether this worker delivers what detection records: webhooks (lib/webhooks/dispatcher),
   * SSF push (lib/transmitter/push.ts) and the coalesced alert.updated changes owed
   * (lib/alerts/store.ts). Each keeps what it has in flight in its process only: with several
   * workers on one ClickHouse server, switch it off on all but one, or a pending delivery is
   * sent by each of them (README.md, "Several workers").
   */
  REVENANT_DELIVERY: bool.default(true),
  /** A webhook attempt that has no complete answer after this long counts as failed (docs/WEBHOOKS.md: 10 s). */
  REVENANT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** First retry delay; each further retry doubles it (with jitter) up to the maximum. Tests lower it. */
  REVENANT_WEBHOOK_BACKOFF_BASE_MS: z.coerce.number().int().min(1).default(5_000),
  REVENANT_WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(1).default(60 * 60 * 1000),
  /**
   * Failed deliveries are retried for this long after they were created (docs/WEBHOOKS.md: at
   * least 24 h). At most 28 days: deliveries are dropped 30 days after they were recorded
   * (lib/store/migrations/105_webhook_delivery_ttl.sql).
   */
  REVENANT_WEBHOOK_RETRY_HOURS: z.coerce.number().positive().max(28 * 24).default(25),
  /** Fallback poll of the outbox and of due retries; new alert changes wake the dispatcher at once. */
  REVENANT_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).default(1_000),
  /** A new SSF signing key is made when the newest is this old; older keys stay in the JWKS while their SETs may still be delivered. */
  REVENANT_SSF_KEY_ROTATION_HOURS: z.coerce.number().positive().default(24 * 7),
  /** Deliveries sent at the same time. */
  REVENANT_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
});

export type Config = Omit<z.infer<typeof schema>, "REVENANT_COOKIE_SECURE"> & {
  chdbPath: string;
  REVENANT_COOKIE_SECURE: "auto" | "true" | "false";
};

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
  for (const name of ["REVENANT_SECRET_KEY", "REVENANT_SECRET_KEY_PREVIOUS"] as const) {
    if (c[name] !== undefined && decodeKey(c[name]) === null) {
      throw new ConfigError(`Invalid configuration:\n  ${name}: expected 32 bytes as base64 (44 characters) or hex (64 characters)`);
    }
  }
  if (c.REVENANT_OIDC_ISSUER && !c.REVENANT_PUBLIC_URL) {
    throw new ConfigError("Invalid configuration:\n  REVENANT_PUBLIC_URL: required with REVENANT_OIDC_ISSUER (the identity provider sends people back to it)");
  }
  if (c.REVENANT_SSO_ONLY && !(c.REVENANT_OIDC_ISSUER && c.REVENANT_OIDC_CLIENT_ID)) {
    throw new ConfigError("Invalid configuration:\n  REVENANT_SSO_ONLY: needs REVENANT_OIDC_ISSUER and REVENANT_OIDC_CLIENT_ID");
  }
  const cookieSecure = c.REVENANT_COOKIE_SECURE ?? (env.NODE_ENV === "production" ? "true" : "auto");
  return { ...c, REVENANT_COOKIE_SECURE: cookieSecure, chdbPath: path.resolve(c.REVENANT_DATA_DIR, "chdb") };
}

/** A 32-byte key written as hex or base64, or null when it is neither. */
export function decodeKey(text: string): Buffer | null {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  return buf.length === 32 ? buf : null;
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
