/** bench:scale helpers shared by its processes: offsets, RSS samples, percentiles, results. */
import type { Admin } from "kafkajs";
import { config } from "@/lib/config";
import { createKafka } from "@/lib/kafka";

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));

/** Progress lines go to stderr; stdout carries the result line only. */
export const progress = (msg: string) => process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const RESULT = "SCALE_RESULT ";
export const emitResult = (r: unknown) => process.stdout.write(RESULT + JSON.stringify(r) + "\n");
export function parseResult<T>(stdout: string): T | null {
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT));
  return line ? (JSON.parse(line.slice(RESULT.length)) as T) : null;
}

/** Committed offsets of the configured group, and the topic's end offsets, through one admin client. */
export class Offsets {
  private constructor(private readonly admin: Admin) {}

  static async open(): Promise<Offsets> {
    const admin = createKafka(config(), "-bench-admin").admin();
    await admin.connect();
    return new Offsets(admin);
  }

  async committed(): Promise<number> {
    const cfg = config();
    const offsets = await this.admin.fetchOffsets({ groupId: cfg.KAFKA_GROUP_ID, topics: [cfg.KAFKA_TOPIC] });
    return offsets[0].partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  }

  async end(): Promise<number> {
    const parts = await this.admin.fetchTopicOffsets(config().KAFKA_TOPIC);
    return parts.reduce((sum, p) => sum + Number(p.high), 0);
  }

  close(): Promise<void> {
    return this.admin.disconnect();
  }
}

export interface IngestRun {
  messages: number;
  seconds: number;
  rate: number;
  /** False when the time limit ended the watch first: the rate is then the rate so far. */
  complete: boolean;
  /** Messages not yet committed when the watch ended. */
  behind: number;
}

/**
 * Polls committed offsets until `total` are committed: the rate runs from the first commit seen
 * to the last (the consumer's start-up is not part of it). Stops early after `limitMs`, or after
 * `stallMs` without progress, with the rate so far.
 */
export async function watchIngest(offsets: Offsets, total: number, onTick: (committed: number) => void, limitMs = Infinity, stallMs = 180_000): Promise<IngestRun> {
  const start = performance.now();
  let first: { at: number; n: number } | null = null;
  let last = { at: performance.now(), n: 0 };
  let lastReport = 0;
  for (;;) {
    const n = await offsets.committed();
    const at = performance.now();
    if (n > last.n) last = { at, n };
    if (!first && n > 0) first = { at, n };
    if (at - lastReport > 10_000) {
      onTick(n);
      lastReport = at;
    }
    if (n >= total || at - start > limitMs || at - last.at > stallMs) break;
    await sleep(100);
  }
  if (!first) throw new Error(`ingest never started: nothing committed of ${total}`);
  const seconds = (last.at - first.at) / 1000;
  const messages = last.n - first.n;
  return { messages, seconds, rate: messages / seconds, complete: last.n >= total, behind: total - last.n };
}

/** Samples this process's RSS every second, under named periods. */
export class RssSampler {
  private readonly max = new Map<string, number>();
  /** Per period, the highest RSS of each minute since the period began (a sustained incident's trend). */
  private readonly perMinute = new Map<string, number[]>();
  private period = "start";
  private periodStart = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), 1_000);
    this.timer.unref();
  }

  enter(period: string): void {
    this.sample();
    this.period = period;
    this.periodStart = performance.now();
  }

  sample(): number {
    const rss = process.memoryUsage().rss;
    this.max.set(this.period, Math.max(this.max.get(this.period) ?? 0, rss));
    const minutes = this.perMinute.get(this.period) ?? [];
    const minute = Math.floor((performance.now() - this.periodStart) / 60_000);
    minutes[minute] = Math.max(minutes[minute] ?? 0, rss);
    this.perMinute.set(this.period, minutes);
    return rss;
  }

  /** The highest RSS of each minute of a period, in MB. */
  minutesOf(period: string): number[] {
    return [...(this.perMinute.get(period) ?? [])].map((v) => mb(v ?? 0));
  }

  maxOf(period: string): number {
    return this.max.get(period) ?? 0;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
