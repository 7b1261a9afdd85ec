/**
 * Push delivery (RFC 8935): each pending SET of an enabled push stream is POSTed to the
 * receiver's URL as `application/secevent+jwt`. A 202 (any 2xx) delivers it; a 400 means the
 * receiver refused that SET for good (RFC 8935 section 2.3) and it fails; anything else,
 * including no answer, is retried with the webhooks' backoff (lib/webhooks/dispatcher/attempt.ts)
 * until REVENANT_WEBHOOK_RETRY_HOURS after its first attempt or the stream's last change,
 * whichever is later (a paused stream's SETs wait, so their window starts again when it is
 * enabled). The sender and its address checks are
 * the webhooks' (lib/webhooks/send.ts, lib/webhooks/ssrf.ts). The outbox is the table, so a
 * restart resumes where it stopped; a crash between a 202 and recording it sends the same
 * bytes (same jti) again.
 */
import type { Config } from "../config";
import { logger } from "../log";
import { open } from "../auth/secret-box";
import { backoffMs } from "../webhooks/dispatcher/attempt";
import { sendOnce } from "../webhooks/send";
import { parseAllowlist, type Allowlist } from "../webhooks/ssrf";
import type { SetOutbox, SetRow } from "./sets";
import { transmitterSignals } from "./signals";
import { PUSH, type Stream, type StreamStore } from "./streams";

const BATCH = 100;

export class PushDelivery {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly allow: Allowlist;
  private readonly log = logger().child({ component: "ssf-push" });
  private readonly onDue = () => this.wake();

  constructor(
    private readonly cfg: Config,
    private readonly streams: StreamStore,
    private readonly outbox: SetOutbox,
  ) {
    this.allow = parseAllowlist(cfg.REVENANT_WEBHOOK_ALLOWLIST);
  }

  /** Passes on every wakePush() of the process (lib/transmitter/signals.ts) and every poll interval. */
  start(): void {
    transmitterSignals().on("push-due", this.onDue);
    this.timer = setInterval(() => this.wake(), this.cfg.REVENANT_WEBHOOK_POLL_MS);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    transmitterSignals().off("push-due", this.onDue);
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Runs a pass now (after new SETs were recorded), or right after the running one. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: Error) => this.log.warn({ err: err.message }, "SSF push pass failed"))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async pass(): Promise<void> {
    const streams = new Map((await this.streams.list()).filter((s) => s.delivery_method === PUSH && s.status === "enabled").map((s) => [s.stream_id, s]));
    for (;;) {
      const due = await this.outbox.pending([...streams.keys()], BATCH, true);
      if (due.length === 0 || this.stopped) return;
      const limit = Math.max(1, this.cfg.REVENANT_WEBHOOK_CONCURRENCY);
      const updated: SetRow[] = [];
      for (let i = 0; i < due.length; i += limit) {
        updated.push(...(await Promise.all(due.slice(i, i + limit).map((set) => this.attempt(streams.get(set.stream_id)!, set)))));
      }
      await this.outbox.put(updated);
      if (due.length < BATCH) return;
    }
  }

  private async attempt(stream: Stream, set: SetRow): Promise<SetRow> {
    const headers: Record<string, string> = { "content-type": "application/secevent+jwt", accept: "application/json", "user-agent": "Revenant-SSF/1" };
    const authorization = openedHeader(stream);
    if (authorization) headers.authorization = authorization;
    // A header sealed under a key this process does not hold is not sent without it: the
    // attempt fails unsent and backs off like any other (the receiver would refuse it anyway).
    const result =
      authorization === null
        ? { ok: false, statusCode: null, error: UNOPENABLE }
        : await sendOnce({ url: stream.endpoint_url, headers, body: set.set_jwt, timeoutMs: this.cfg.REVENANT_WEBHOOK_TIMEOUT_MS, allow: this.allow });
    const now = new Date();
    // A row recorded before first_attempt_at existed counts from its recording, as it did.
    const firstAttempt = set.first_attempt_at ?? (set.attempts > 0 ? set.created_at : now.toISOString());
    const next: SetRow = { ...set, attempts: set.attempts + 1, first_attempt_at: firstAttempt, last_status_code: result.statusCode, last_error: result.error.slice(0, 500) };
    if (result.ok) return { ...next, state: "delivered", delivered_at: now.toISOString() };
    const windowStart = Math.max(Date.parse(firstAttempt), Date.parse(stream.changed_at));
    const expired = now.getTime() - windowStart >= this.cfg.REVENANT_WEBHOOK_RETRY_HOURS * 3_600_000;
    if (result.statusCode === 400 || expired) return { ...next, state: "failed" };
    const wait = backoffMs(next.attempts, this.cfg.REVENANT_WEBHOOK_BACKOFF_BASE_MS, this.cfg.REVENANT_WEBHOOK_BACKOFF_MAX_MS);
    return { ...next, next_attempt_at: new Date(now.getTime() + wait).toISOString() };
  }
}

const UNOPENABLE = "not sent: the stream's authorization header cannot be decrypted (is REVENANT_SECRET_KEY the key it was stored with?)";

/** The stream's authorization header in clear ('' for none), or null when it cannot be decrypted. */
function openedHeader(stream: Stream): string | null {
  try {
    return open(stream.authorization_header);
  } catch {
    return null;
  }
}
