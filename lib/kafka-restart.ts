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

export class CrashRestarts {
  private timer: NodeJS.Timeout | null = null;
  private attempts = 0;
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
    consumer.on(consumer.events.CRASH, () => this.schedule());
    consumer.on(consumer.events.GROUP_JOIN, () => (this.attempts = 0));
  }

  /** No restart after this: call it before disconnecting the consumer on purpose. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.attempts++;
      this.log.warn({ attempt: this.attempts }, "restarting the consumer after a crash");
      this.consumer
        .connect()
        .then(() => (this.stopped ? undefined : this.run()))
        .catch((err: Error) => {
          this.log.error({ err: err.message }, "consumer restart failed");
          this.onFailedRestart(err);
          this.schedule();
        });
    }, backoffMs(this.attempts));
  }
}
