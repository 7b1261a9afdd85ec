/**
 * Waits for many things at once, with one check per round for all of them (bench:scale's
 * incident, bench:detect). Polling each injected action on its own, every few milliseconds,
 * loads the engine under test with hundreds of queries a second, and more the slower it
 * answers: bench:detect's did 1,820 reads in 45 s, more session time than ingest's inserts
 * (docs/BENCHMARKS.md, "2026-12-01, night").
 */
import { sleep } from "./scale-util";

export class RoundPoller<T> {
  private readonly waiting = new Map<string, { item: T; resolve: (foundAt: number | null) => void }>();
  private running = false;

  /**
   * `check` gets every item still waited for, by key, and returns the keys of those that are
   * done. It runs once per round, `everyMs` apart; an item not done after `timeoutMs` gives up.
   */
  constructor(
    private readonly check: (waiting: Map<string, T>) => Promise<Iterable<string>>,
    private readonly everyMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves with performance.now() when the round that found `key` done ended, or null after the timeout. */
  wait(key: string, item: T): Promise<number | null> {
    return new Promise((resolve) => {
      this.waiting.set(key, { item, resolve });
      setTimeout(() => {
        if (this.waiting.delete(key)) resolve(null);
      }, this.timeoutMs);
      if (!this.running) void this.poll();
    });
  }

  private async poll(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.size) {
        const done = await this.check(new Map([...this.waiting].map(([key, w]) => [key, w.item])));
        const at = performance.now();
        for (const key of done) {
          const w = this.waiting.get(key);
          if (!w) continue;
          this.waiting.delete(key);
          w.resolve(at);
        }
        await sleep(this.everyMs);
      }
    } finally {
      this.running = false;
    }
  }
}
