/**
 * In-process token buckets. Per process, not per cluster: with N web processes the
 * effective limit is N times higher, which is acceptable for abuse control (sign-in
 * guessing, a runaway producer); the sign-in hash cost bounds guessing further.
 */
const key = Symbol.for("revenant.rateLimits");
type Bucket = { tokens: number; at: number };
type WithBuckets = typeof globalThis & { [key]?: Map<string, Bucket> };

function buckets(): Map<string, Bucket> {
  const g = globalThis as WithBuckets;
  g[key] ??= new Map();
  return g[key]!;
}

/**
 * Takes one token from bucket `name` holding at most `perMinute` tokens, refilled evenly
 * over a minute. Returns 0 when allowed, else the seconds until a token is available.
 */
export function takeToken(name: string, perMinute: number, now = Date.now()): number {
  const map = buckets();
  const rate = perMinute / 60_000;
  const b = map.get(name) ?? { tokens: perMinute, at: now };
  b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * rate);
  b.at = now;
  if (map.size > 50_000) evictIdle(map, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    map.set(name, b);
    return 0;
  }
  map.set(name, b);
  return Math.ceil((1 - b.tokens) / rate / 1000);
}

/** Like takeToken, but takes nothing: 0 when a token is available, else the seconds to wait. */
export function peekToken(name: string, perMinute: number, now = Date.now()): number {
  const b = buckets().get(name);
  if (!b) return 0;
  const rate = perMinute / 60_000;
  const tokens = Math.min(perMinute, b.tokens + (now - b.at) * rate);
  return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / rate / 1000);
}

/**
 * Bounds memory under a flood of distinct keys. Only buckets idle for a minute go: those
 * have refilled completely, so dropping them changes nothing, whereas clearing every
 * bucket would hand a flooder fresh tokens for the account it is guessing at. If the
 * flood is so fast that nothing is idle, the oldest half goes.
 */
function evictIdle(map: Map<string, Bucket>, now: number): void {
  for (const [k, b] of map) if (now - b.at > 60_000) map.delete(k);
  if (map.size > 50_000) {
    const oldest = [...map.entries()].sort((a, b) => a[1].at - b[1].at).slice(0, map.size >> 1);
    for (const [k] of oldest) map.delete(k);
  }
}

/** For tests. */
export function resetRateLimits(): void {
  buckets().clear();
}
