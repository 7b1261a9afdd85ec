/**
 * One restart policy for every long-running kafkajs consumer (the ingest and OTLP consumers in
 * ingest/, the feed mirror in lib/feed/mirror.ts): restarted after every crash, with capped
 * backoff, until it is stopped.
 *
 * kafkajs restarts a crashed consumer by itself only after errors it calls retriable. While a
 * broker restarts, a consumer can crash with one it does not ("Failed to find group
 * coordinator", a closed connection wrapped in a non-retriable error), and then it stays stopped
 * for good: ingest would stop, and the mirror would never be ready again. So kafkajs's own restart
 * is switched off (`kafkajsRestartOff`, spread into the consumer's config) and every crash is
 * restarted here.
 */
import type { Consumer, ConsumerConfig } from "kafkajs";
import type pino from "pino";

/** Spread into a consumer's config: kafkajs restarts nothing, `CrashRestarts` restarts every crash. */
export const kafkajsRestartOff = { retry: { restartOnFailure: async () => false } } satisfies Partial<ConsumerConfig>;

/** 0.5, 1, 2, 4, 8, then every 10 s: a broker back from an outage is found within 10 s. */
function backoffMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
}

/** A consumer that ran this long after joining before it crashed starts its backoff over. */
const HEALTHY_RUN_MS = 60_000;

export class CrashRestarts {
  private timer: NodeJS.Timeout | null = null;
  /** The restart under way (reconnect, then run: joined once it resolves), awaited by stop(). */
  private restarting: Promise<void> | null = null;
  private crashedWhileRestarting = false;
  private attempts = 0;
  private joinedAt = 0;
  private stopped = false;

  /**
   * `run` starts the consumer's loop again (`consumer.run(...)`, after its reconnect here); the
   * subscriptions of the first start are kept by kafkajs. `onFailedRestart` hears each restart
   * that failed (another follows).
   */
  constructor(
    private readonly consumer: Consumer,
    private readonly run: () => Promise<void>,
    private readonly log: pino.Logger,
    private readonly onFailedRestart: (err: Error) => void = () => {},
  ) {
    consumer.on(consumer.events.CRASH, () => {
      // A consumer that crashes again right after each join (a batch its handler cannot take,
      // say) backs off further each time instead of restarting every half second.
      if (this.joinedAt && Date.now() - this.joinedAt > HEALTHY_RUN_MS) this.attempts = 0;
      this.joinedAt = 0;
      this.schedule();
    });
    consumer.on(consumer.events.GROUP_JOIN, () => (this.joinedAt = Date.now()));
  }

  /**
   * No restart after this; resolves once a restart under way has ended (joined or failed), so
   * that the caller's disconnect() that follows stops a consumer that is really running. A
   * reconnect that ends after stop() disconnects again.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.restarting;
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    // A crash while a restart is under way (its join failed: kafkajs reports that as a crash,
    // and run() still resolves) is restarted once that restart has ended.
    if (this.restarting) {
      this.crashedWhileRestarting = true;
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.attempts++;
      this.log.warn({ attempt: this.attempts }, "restarting the consumer after a crash");
      this.restarting = this.consumer
        .connect()
        .then(() => (this.stopped ? this.consumer.disconnect() : this.run()))
        .catch((err: Error) => {
          this.log.error({ err: err.message }, "consumer restart failed");
          this.onFailedRestart(err);
          return err;
        })
        .then((failed) => {
          this.restarting = null;
          const again = failed instanceof Error || this.crashedWhileRestarting;
          this.crashedWhileRestarting = false;
          if (again) this.schedule();
        });
    }, backoffMs(this.attempts));
  }
}
