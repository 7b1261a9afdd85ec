/**
 * Webhook delivery (issue 5 §2–3, SPEC §5).
 *
 * The outbox is alert_history: every stored alert change is a row with a microsecond seq.
 * The dispatcher tails it from a persisted cursor and turns each change into one delivery
 * per matching endpoint, recorded in webhook_deliveries BEFORE anything is sent; then it
 * sends due deliveries, and retries failures with exponential backoff and jitter until
 * REVENANT_WEBHOOK_RETRY_HOURS after the delivery was recorded.
 *
 * Why a lookback: seq values written by two processes (two workers, or an analyst's status
 * change in a web process) can become visible out of order, so a change with a seq below
 * the cursor can appear late. Every poll re-reads the last LOOKBACK_US below the cursor and
 * skips changes already handled (by (alert_id, seq) in memory, and by the deterministic
 * delivery id in the table after a restart).
 *
 * Why the bus: detection emits "changes" right after writing, which wakes the dispatcher at
 * once (latency target: 1.5 s p99 from consumption to arrival). Correctness does not depend
 * on it: the poll (REVENANT_WEBHOOK_POLL_MS) finds every change and every due retry anyway.
 *
 * At-least-once: a crash between a successful send and saving its outcome re-sends it
 * after the restart, with the same webhook-id, so receivers can deduplicate.
 */
import { EventEmitter } from "node:events";
import type { LookupFunction } from "node:net";
import type { ClickHouseClient } from "@clickhouse/client";
import { Webhook } from "standardwebhooks";
import { alertBus } from "../alerts/bus";
import { AlertStore, type Alert, type AlertChangeKind } from "../alerts/store";
import { config, type Config } from "../config";
import { logger } from "../log";
import { queryRows, store } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { DeliveryStore, deliveryId, type Attempt, type Delivery } from "./deliveries";
import { endpointMatches, EndpointStore, type EndpointWithSecret } from "./endpoints";
import { sendOnce, type AttemptResult } from "./send";
import { parseAllowlist, type Allowlist } from "./ssrf";

export type WebhookEventType = "alert.created" | "alert.updated" | "alert.resolved";

/** SPEC §5 event types for alert_history kinds; null: not sent (a withdrawn alert no longer exists). */
export function eventTypeFor(kind: AlertChangeKind | string): WebhookEventType | null {
  if (kind === "raised") return "alert.created";
  if (kind === "resolved") return "alert.resolved";
  if (kind === "withdrawn") return null;
  return "alert.updated";
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export const LOOKBACK_US = 60_000_000;
const OUTBOX_PAGE = 5_000;
const CURSOR_NAME = "alert_history";

interface OutboxRow {
  alert_id: string;
  at: string;
  seq: number;
  kind: AlertChangeKind;
}

/** One finished attempt, for benchmarks and tests (in-process; the table is the record). */
export interface AttemptEvent {
  delivery: Delivery;
  result: AttemptResult;
  /** When this attempt started. */
  sent_at: string;
}

const eventsKey = Symbol.for("revenant.webhookEvents");
type WithEvents = typeof globalThis & { [eventsKey]?: EventEmitter<{ attempt: [AttemptEvent] }> };

/** Emits "attempt" after every attempt is saved: the latency benchmark listens here. */
export function webhookEvents(): EventEmitter<{ attempt: [AttemptEvent] }> {
  const g = globalThis as WithEvents;
  g[eventsKey] ??= new EventEmitter<{ attempt: [AttemptEvent] }>();
  return g[eventsKey]!;
}

export interface DispatcherOptions {
  cfg?: Config;
  reader?: ClickHouseClient;
  writer?: ClickHouseClient;
  /** DNS resolver for sends (tests inject one); the SSRF vetting applies to its answers. */
  lookup?: LookupFunction;
  random?: () => number;
}

export class WebhookDispatcher {
  private readonly cfg: Config;
  private readonly reader: ClickHouseClient;
  private readonly writer: ClickHouseClient;
  private readonly deliveries: DeliveryStore;
  private readonly endpoints: EndpointStore;
  private readonly alerts: AlertStore;
  private readonly allow: Allowlist;
  private readonly log = logger().child({ component: "webhooks" });
  private cursor = 0;
  private persistedCursor = 0;
  /** `${alert_id}|${seq}` of changes handled, pruned below the lookback window. */
  private readonly handled = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pollTimer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private lookbackRequested = true;
  private stopped = true;
  private readonly onChanges = () => this.kick(false);

  constructor(private readonly opts: DispatcherOptions = {}) {
    this.cfg = opts.cfg ?? config();
    this.reader = opts.reader ?? store().reader;
    this.writer = opts.writer ?? store().writer;
    this.deliveries = new DeliveryStore(this.reader, this.writer);
    this.endpoints = new EndpointStore(this.reader, this.writer);
    this.alerts = new AlertStore(this.reader);
    this.allow = parseAllowlist(this.cfg.REVENANT_WEBHOOK_ALLOWLIST);
  }

  async start(): Promise<void> {
    const rows = await queryRows<{ seq: number }>(this.reader, "webhooks:cursor", `SELECT seq FROM webhook_cursor FINAL WHERE name = {n:String}`, { n: CURSOR_NAME });
    this.cursor = this.persistedCursor = Number(rows[0]?.seq ?? 0);
    this.stopped = false;
    alertBus().on("changes", this.onChanges);
    this.pollTimer = setInterval(() => this.kick(true), this.cfg.REVENANT_WEBHOOK_POLL_MS);
    this.pollTimer.unref();
    this.kick(true);
    this.log.info({ cursor: this.cursor }, "webhook dispatcher started");
  }

  /** Stops taking new work and waits for attempts in flight (each bounded by the timeout). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    alertBus().off("changes", this.onChanges);
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.pumping;
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Runs a pass now (coalesced with one already running). */
  kick(lookback = false): void {
    if (this.stopped) return;
    if (lookback) this.lookbackRequested = true;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.again && !this.stopped) this.kick();
    });
  }

  /** Resolves when no pass is running and nothing is in flight (tests). */
  async idle(): Promise<void> {
    while (this.pumping || this.inflight.size > 0) {
      await this.pumping;
      await Promise.allSettled([...this.inflight.values()]);
    }
  }

  private async pump(): Promise<void> {
    this.again = false;
    try {
      const lookback = this.lookbackRequested;
      this.lookbackRequested = false;
      const endpoints = await this.endpoints.listWithSecrets();
      await this.tail(endpoints, lookback);
      await this.dispatchDue(endpoints);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "webhook pass failed");
    }
  }

  /** Turns new outbox rows into recorded deliveries, then advances and persists the cursor. */
  private async tail(endpoints: EndpointWithSecret[], lookback: boolean): Promise<void> {
    let from = lookback ? Math.max(0, this.cursor - LOOKBACK_US) : this.cursor;
    for (;;) {
      const rows = await queryRows<OutboxRow>(
        this.reader,
        "webhooks:outbox",
        `SELECT alert_id, at, seq, kind FROM alert_history WHERE seq > {from:UInt64} ORDER BY seq LIMIT {n:UInt32}`,
        { from, n: OUTBOX_PAGE },
      );
      const fresh = rows.filter((r) => !this.handled.has(`${r.alert_id}|${r.seq}`));
      if (fresh.length) await this.handle(fresh, endpoints);
      for (const r of rows) {
        this.handled.set(`${r.alert_id}|${r.seq}`, Number(r.seq));
        this.cursor = Math.max(this.cursor, Number(r.seq));
      }
      if (rows.length < OUTBOX_PAGE) break;
      from = Number(rows[rows.length - 1].seq);
    }
    const floor = this.cursor - 2 * LOOKBACK_US;
    for (const [k, seq] of this.handled) if (seq < floor) this.handled.delete(k);
    if (this.cursor > this.persistedCursor) {
      await this.writer.insert({
        table: "webhook_cursor",
        values: [{ name: CURSOR_NAME, seq: this.cursor, version: nextVersion() }],
        format: "JSONEachRow",
        clickhouse_settings: { async_insert: 0, log_comment: "webhooks:cursor" },
      });
      this.persistedCursor = this.cursor;
    }
  }

  private async handle(changes: OutboxRow[], endpoints: EndpointWithSecret[]): Promise<void> {
    const enabled = endpoints.filter((e) => e.enabled);
    const sendable = changes.filter((c) => eventTypeFor(c.kind) !== null);
    if (enabled.length === 0 || sendable.length === 0) return;
    const alerts = new Map<string, Alert | null>();
    for (const id of new Set(sendable.map((c) => c.alert_id))) alerts.set(id, await this.alerts.get(id));
    const now = new Date().toISOString();
    const candidates: Delivery[] = [];
    for (const change of sendable) {
      const alert = alerts.get(change.alert_id);
      if (!alert) continue;
      const type = eventTypeFor(change.kind)!;
      const payload = JSON.stringify({ type, timestamp: change.at, alert });
      for (const e of enabled) {
        if (!endpointMatches(e, alert)) continue;
        candidates.push({
          endpoint_id: e.id,
          id: deliveryId(e.id, change.alert_id, change.seq),
          alert_id: change.alert_id,
          seq: Number(change.seq),
          type,
          payload,
          status: "pending",
          attempts: 0,
          created_at: now,
          change_at: change.at,
          next_attempt_at: now,
          first_sent_at: null,
          delivered_at: null,
          last_status_code: null,
          last_error: "",
          last_duration_ms: null,
        });
      }
    }
    const known = await this.deliveries.existing(candidates.map((d) => d.id));
    const fresh = candidates.filter((d) => !known.has(d.id));
    await this.deliveries.record(fresh);
    if (fresh.length) this.log.debug({ deliveries: fresh.length }, "webhook deliveries recorded");
  }

  private async dispatchDue(endpoints: EndpointWithSecret[]): Promise<void> {
    const capacity = this.cfg.REVENANT_WEBHOOK_CONCURRENCY - this.inflight.size;
    if (capacity <= 0 || this.stopped) return;
    const due = await this.deliveries.due(capacity, [...this.inflight.keys()]);
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    for (const d of due) {
      if (this.inflight.has(d.id)) continue;
      const p = this.attempt(d, byId.get(d.endpoint_id) ?? null)
        .catch((err: Error) => this.log.error({ delivery_id: d.id, err: err.message }, "webhook attempt could not be saved"))
        .finally(() => {
          this.inflight.delete(d.id);
          this.kick();
        });
      this.inflight.set(d.id, p);
    }
  }

  private async attempt(d: Delivery, endpoint: EndpointWithSecret | null): Promise<void> {
    if (!endpoint || !endpoint.enabled) {
      await this.deliveries.save({ ...d, status: "cancelled", last_error: endpoint ? "endpoint disabled" : "endpoint deleted" });
      return;
    }
    const { next, result, sentAt } = await attemptDelivery(d, endpoint, this.cfg, this.allow, this.deliveries, this.opts.lookup, this.opts.random);
    if (next.status === "pending") {
      const wait = Math.max(0, Date.parse(next.next_attempt_at) - Date.now()) + 5;
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.kick();
      }, wait);
      t.unref();
      this.timers.add(t);
      this.log.warn({ delivery_id: d.id, endpoint_id: d.endpoint_id, attempt: next.attempts, error: result.error }, "webhook attempt failed; will retry");
    } else if (next.status === "failed") {
      this.log.error({ delivery_id: d.id, endpoint_id: d.endpoint_id, attempts: next.attempts, error: result.error }, "webhook delivery gave up");
    }
    webhookEvents().emit("attempt", { delivery: next, result, sent_at: sentAt });
  }
}

/** Signs and sends one attempt, then saves the delivery's next state and the attempt. */
async function attemptDelivery(
  d: Delivery,
  endpoint: EndpointWithSecret,
  cfg: Config,
  allow: Allowlist,
  deliveries: DeliveryStore,
  lookup?: LookupFunction,
  random?: () => number,
): Promise<{ next: Delivery; result: AttemptResult; sentAt: string }> {
  const ts = new Date();
  const sentAt = ts.toISOString();
  const result = await sendOnce({
    url: endpoint.url,
    body: d.payload,
    timeoutMs: cfg.REVENANT_WEBHOOK_TIMEOUT_MS,
    allow,
    lookup,
    headers: {
      "content-type": "application/json",
      "user-agent": "Revenant-Webhooks/1",
      "webhook-id": d.id,
      "webhook-timestamp": String(Math.floor(ts.getTime() / 1000)),
      "webhook-signature": new Webhook(endpoint.secret).sign(d.id, ts, d.payload),
    },
  });
  const now = new Date();
  const attempts = d.attempts + 1;
  const next: Delivery = {
    ...d,
    attempts,
    first_sent_at: d.first_sent_at ?? sentAt,
    last_status_code: result.statusCode,
    last_error: result.error.slice(0, 500),
    last_duration_ms: result.durationMs,
  };
  if (result.ok) {
    next.status = "succeeded";
    next.delivered_at = now.toISOString();
  } else if (d.status === "testing") {
    next.status = "failed";
  } else if (now.getTime() - Date.parse(d.created_at) >= cfg.REVENANT_WEBHOOK_RETRY_HOURS * 3_600_000) {
    next.status = "failed";
  } else {
    next.status = "pending";
    next.next_attempt_at = new Date(now.getTime() + backoffMs(attempts, cfg.REVENANT_WEBHOOK_BACKOFF_BASE_MS, cfg.REVENANT_WEBHOOK_BACKOFF_MAX_MS, random)).toISOString();
  }
  const attempt: Attempt = {
    endpoint_id: d.endpoint_id,
    delivery_id: d.id,
    attempt: attempts,
    at: sentAt,
    duration_ms: result.durationMs,
    status_code: result.statusCode,
    error: next.last_error,
    outcome: result.ok ? "succeeded" : "failed",
  };
  await deliveries.save(next, attempt);
  return { next, result, sentAt };
}

/**
 * "Send test" (issue 5 §1): a signed `webhook.test` event with a sample alert, recorded as a
 * delivery of the endpoint and attempted once, now (no retries).
 */
export async function sendTestDelivery(endpoint: EndpointWithSecret, opts: { lookup?: LookupFunction } = {}): Promise<{ delivery: Delivery; result: AttemptResult }> {
  const cfg = config();
  const seq = nextVersion();
  const now = new Date().toISOString();
  const sample = {
    id: "alert_test",
    rule: "post_revocation_activity",
    severity: "critical",
    status: "open",
    revocation_id: "evt_test_revocation",
    agent_id: "agent-test",
    pipeline_id: null,
    layers_enforcing: ["gateway"],
    layers_leaking: ["tool"],
    violation_count: 1,
    first_violation_at: now,
    last_violation_at: now,
    sample_event_ids: ["evt_test_action"],
    created_at: now,
    updated_at: now,
  };
  const d: Delivery = {
    endpoint_id: endpoint.id,
    id: deliveryId(endpoint.id, "test", seq),
    alert_id: "",
    seq,
    type: "webhook.test",
    payload: JSON.stringify({ type: "webhook.test", timestamp: now, alert: sample }),
    status: "testing",
    attempts: 0,
    created_at: now,
    change_at: now,
    next_attempt_at: now,
    first_sent_at: null,
    delivered_at: null,
    last_status_code: null,
    last_error: "",
    last_duration_ms: null,
  };
  const deliveries = new DeliveryStore();
  await deliveries.record([d]);
  const { next, result } = await attemptDelivery(d, endpoint, cfg, parseAllowlist(cfg.REVENANT_WEBHOOK_ALLOWLIST), deliveries, opts.lookup);
  return { delivery: next, result };
}

export interface DeliveryTiming {
  id: string;
  endpoint_id: string;
  alert_id: string;
  type: string;
  status: string;
  attempts: number;
  change_at: string;
  created_at: string;
  first_sent_at: string | null;
  delivered_at: string | null;
  last_duration_ms: number | null;
}

/**
 * Timings of deliveries recorded since `since` (for the latency benchmark): change_at (the
 * alert change), created_at (recorded), first_sent_at, delivered_at (2xx received).
 */
export async function deliveryTimings(since: Date, client: ClickHouseClient = store().reader): Promise<DeliveryTiming[]> {
  return queryRows<DeliveryTiming>(
    client,
    "webhooks:timings",
    `SELECT id, endpoint_id, alert_id, type, status, attempts, change_at, created_at, first_sent_at, delivered_at, last_duration_ms
     FROM webhook_deliveries FINAL WHERE created_at >= {since:DateTime64(3, 'UTC')} ORDER BY created_at`,
    { since: since.toISOString().replace("T", " ").replace("Z", "") },
  );
}
