/**
 * Webhook delivery (docs/WEBHOOKS.md; the data flow in docs/ARCHITECTURE.md), one file per job:
 *
 * - ./outbox.ts        tails alert_history (the outbox) from a persisted cursor
 * - ./fanout.ts        turns each change into one recorded delivery per matching endpoint
 * - ./attempt.ts       signs and sends one attempt; backoff and the delivery's next state
 * - ./test-delivery.ts "Send test" with a sample alert
 * - ./attempt-events.ts the in-process "attempt" event after each saved attempt
 *
 * This file schedules them: a pass tails the outbox, then starts the due deliveries (up to
 * REVENANT_WEBHOOK_CONCURRENCY at once); a failed attempt is retried when its backoff ends,
 * until REVENANT_WEBHOOK_RETRY_HOURS after the delivery was recorded.
 *
 * Why the bus: detection emits "changes" right after writing, which wakes the dispatcher at
 * once (latency target: 1.5 s p99 from consumption to arrival). Correctness does not depend
 * on it: the poll (REVENANT_WEBHOOK_POLL_MS) finds every change and every due retry anyway.
 *
 * At-least-once: a crash between a successful send and saving its outcome re-sends it
 * after the restart, with the same webhook-id, so receivers can deduplicate.
 */
import type { LookupFunction } from "node:net";
import type { ClickHouseClient } from "@clickhouse/client";
import { alertBus } from "../../alerts/bus";
import { AlertStore } from "../../alerts/store";
import { config, type Config } from "../../config";
import { logger } from "../../log";
import { DeliveryStore, type Delivery } from "../deliveries";
import { EndpointStore, type EndpointWithSecret } from "../endpoints";
import { parseAllowlist, type Allowlist } from "../ssrf";
import { attemptDelivery } from "./attempt";
import { fanOut } from "./fanout";
import { OutboxTail } from "./outbox";
import { webhookEvents } from "./attempt-events";

export { backoffMs } from "./attempt";
export { eventTypeFor, type WebhookEventType } from "./fanout";
export { LOOKBACK_US } from "./outbox";
export { sendTestDelivery, testOutcome, type TestDeliveryOutcome } from "./test-delivery";
export { webhookEvents, type AttemptEvent } from "./attempt-events";

/** The most attempts one endpoint may have in flight: half of all, at least one. */
export function perEndpointLimit(concurrency: number): number {
  return Math.max(1, Math.floor(concurrency / 2));
}

export interface DispatcherOptions {
  cfg?: Config;
  reader: ClickHouseClient;
  writer: ClickHouseClient;
  /** DNS resolver for sends (tests inject one); the SSRF vetting applies to its answers. */
  lookup?: LookupFunction;
  random?: () => number;
}

export class WebhookDispatcher {
  private readonly cfg: Config;
  private readonly deliveries: DeliveryStore;
  private readonly endpoints: EndpointStore;
  private readonly alerts: AlertStore;
  private readonly outbox: OutboxTail;
  private readonly allow: Allowlist;
  private readonly log = logger().child({ component: "webhooks" });
  /** Deliveries in flight, by id: their endpoint (see dispatchDue) and their attempt. */
  private readonly inflight = new Map<string, { endpointId: string; attempt: Promise<void> }>();
  /**
   * Deliveries whose attempt was made but could not be saved (the store refusing writes): not
   * tried again before this time (ms). Still pending in the table, each would otherwise be due
   * again at once, and be sent again and again while writes fail, with no backoff.
   */
  private readonly heldBack = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pollTimer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private lookbackRequested = true;
  private stopped = true;
  private readonly onChanges = () => this.kick(false);

  constructor(private readonly opts: DispatcherOptions) {
    this.cfg = opts.cfg ?? config();
    const { reader, writer } = opts;
    this.deliveries = new DeliveryStore(reader, writer);
    this.endpoints = new EndpointStore(reader, writer);
    this.alerts = new AlertStore(reader);
    this.outbox = new OutboxTail(reader, writer);
    this.allow = parseAllowlist(this.cfg.REVENANT_WEBHOOK_ALLOWLIST);
  }

  async start(): Promise<void> {
    const cursor = await this.outbox.load();
    this.stopped = false;
    alertBus().on("changes", this.onChanges);
    this.pollTimer = setInterval(() => this.kick(true), this.cfg.REVENANT_WEBHOOK_POLL_MS);
    this.pollTimer.unref();
    this.kick(true);
    this.log.info({ cursor }, "webhook dispatcher started");
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
    await this.attemptsInFlight();
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
      await this.attemptsInFlight();
    }
  }

  private async pump(): Promise<void> {
    this.again = false;
    try {
      const lookback = this.lookbackRequested;
      this.lookbackRequested = false;
      const endpoints = await this.endpoints.listWithSecrets();
      await this.outbox.read(lookback, async (changes) => {
        const { recorded, unresolved } = await fanOut(changes, endpoints, this.alerts, this.deliveries);
        if (recorded) this.log.debug({ deliveries: recorded }, "webhook deliveries recorded");
        // A change whose alert row was not written yet is behind the cursor by the next pass:
        // that pass (kicked when the writer announces its changes) looks back for it.
        if (unresolved.length) this.lookbackRequested = true;
        return unresolved;
      });
      await this.dispatchDue(endpoints);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "webhook pass failed");
    }
  }

  /**
   * Starts due deliveries, up to REVENANT_WEBHOOK_CONCURRENCY at once and at most half of that
   * (perEndpointLimit) for any one endpoint: a receiver that hangs until the timeout, with many
   * deliveries due, would otherwise hold every slot while the other endpoints' deliveries wait.
   */
  private async dispatchDue(endpoints: EndpointWithSecret[]): Promise<void> {
    const capacity = this.cfg.REVENANT_WEBHOOK_CONCURRENCY - this.inflight.size;
    if (capacity <= 0 || this.stopped) return;
    const perEndpoint = perEndpointLimit(this.cfg.REVENANT_WEBHOOK_CONCURRENCY);
    const busy = new Map<string, number>();
    for (const { endpointId } of this.inflight.values()) busy.set(endpointId, (busy.get(endpointId) ?? 0) + 1);
    const full = [...busy].filter(([, n]) => n >= perEndpoint).map(([id]) => id);
    const now = Date.now();
    for (const [id, until] of this.heldBack) if (until <= now) this.heldBack.delete(id);
    const due = await this.deliveries.due(capacity, [...this.inflight.keys(), ...this.heldBack.keys()], perEndpoint, full);
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    for (const d of due) {
      if (this.inflight.has(d.id)) continue;
      if ((busy.get(d.endpoint_id) ?? 0) >= perEndpoint) continue;
      busy.set(d.endpoint_id, (busy.get(d.endpoint_id) ?? 0) + 1);
      const p = this.attempt(d, byId.get(d.endpoint_id) ?? null)
        .catch((err: Error) => {
          const retryAt = Date.now() + this.cfg.REVENANT_WEBHOOK_BACKOFF_BASE_MS;
          this.heldBack.set(d.id, retryAt);
          this.wakeAt(new Date(retryAt).toISOString());
          this.log.error({ delivery_id: d.id, err: err.message, retry_in_ms: this.cfg.REVENANT_WEBHOOK_BACKOFF_BASE_MS }, "webhook attempt could not be saved; held back");
        })
        .finally(() => {
          this.inflight.delete(d.id);
          this.kick();
        });
      this.inflight.set(d.id, { endpointId: d.endpoint_id, attempt: p });
    }
  }

  private async attempt(d: Delivery, endpoint: EndpointWithSecret | null): Promise<void> {
    if (!endpoint || !endpoint.enabled) {
      await this.deliveries.save({ ...d, status: "cancelled", last_error: endpoint ? "endpoint disabled" : "endpoint deleted" });
      return;
    }
    const { next, result, sentAt } = await attemptDelivery(d, endpoint, this.cfg, this.allow, this.deliveries, this.opts.lookup, this.opts.random);
    if (next.status === "pending") {
      this.wakeAt(next.next_attempt_at);
      this.log.warn({ delivery_id: d.id, endpoint_id: d.endpoint_id, attempt: next.attempts, error: result.error }, "webhook attempt failed; will retry");
    } else if (next.status === "failed") {
      this.log.error({ delivery_id: d.id, endpoint_id: d.endpoint_id, attempts: next.attempts, error: result.error }, "webhook delivery gave up");
    }
    webhookEvents().announce("attempt", { delivery: next, result, sent_at: sentAt });
  }

  private attemptsInFlight(): Promise<unknown> {
    return Promise.allSettled([...this.inflight.values()].map((f) => f.attempt));
  }

  /** A pass just after `iso`, when a retry falls due. */
  private wakeAt(iso: string): void {
    const wait = Math.max(0, Date.parse(iso) - Date.now()) + 5;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.kick();
    }, wait);
    t.unref();
    this.timers.add(t);
  }
}
