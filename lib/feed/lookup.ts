/**
 * The credential status lookup (app/api/v1/credentials/): from the feed mirror once it holds
 * the deny-set (lib/feed/mirror.ts), otherwise a primary-key read of the coverage table
 * (lib/feed/status.ts). Both give the same answer; the mirror lags coverage by the feed's
 * delivery. REVENANT_LOOKUP_MIRROR=false always reads coverage.
 */
import { config } from "../config";
import { createKafka } from "../kafka";
import { logger } from "../log";
import { store } from "../store/clickhouse";
import { FeedMirror } from "./mirror";
import { credentialStatuses, type CredentialStatus } from "./status";

const mirrorKey = Symbol.for("revenant.feedMirror");
type WithMirror = typeof globalThis & { [mirrorKey]?: { mirror: FeedMirror; started: Promise<void>; failedAt?: number } };
/** After a failed start (no broker, no feed topic yet), lookups read coverage for this long before the mirror tries again. */
const RETRY_MS = 10_000;

/** The process's mirror, started on first use (one per process: route bundles share globalThis). */
function mirror(): FeedMirror | null {
  const cfg = config();
  if (!cfg.REVENANT_LOOKUP_MIRROR) return null;
  const g = globalThis as WithMirror;
  const current = g[mirrorKey];
  if (!current || (current.failedAt !== undefined && Date.now() - current.failedAt > RETRY_MS)) {
    const m = new FeedMirror(createKafka(cfg, "-feed-mirror"), cfg.KAFKA_FEED_TOPIC);
    const entry: NonNullable<WithMirror[typeof mirrorKey]> = { mirror: m, started: Promise.resolve() };
    entry.started = m.start().catch(async (err: Error) => {
      logger().warn({ err: err.message }, "feed mirror did not start; lookups read coverage");
      entry.failedAt = Date.now();
      await m.stop().catch(() => {});
    });
    g[mirrorKey] = entry;
  }
  return g[mirrorKey]!.mirror;
}

export interface Lookup {
  statuses: CredentialStatus[];
  /** Where the answer came from: the feed mirror, or the coverage table. */
  source: "feed" | "coverage";
}

export async function lookupStatuses(ids: string[]): Promise<Lookup> {
  const m = mirror();
  // A key whose latest feed value the mirror could not read is answered by coverage, and so is
  // the rest of its request: one source per answer (the x-revenant-source header).
  if (m?.ready && ids.every((id) => m.readable(id))) return { statuses: ids.map((id) => m.status(id)), source: "feed" };
  return { statuses: await credentialStatuses(store().lookup, ids, "feed:lookup"), source: "coverage" };
}

/** Resolves when the mirror holds the deny-set (tests, benchmarks); false when it is off or not ready in time. */
export async function mirrorReady(timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = mirror();
    if (!m) return false;
    if (m.ready) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function stopMirror(): Promise<void> {
  const g = globalThis as WithMirror;
  const entry = g[mirrorKey];
  delete g[mirrorKey];
  if (entry) {
    await entry.started;
    await entry.mirror.stop();
  }
}
