/**
 * A few seconds of memory for credential lookups, so that a page with many API calls does
 * not hit ClickHouse for each. Revocations in this process clear it at once; another
 * process sees them within TTL_MS. Lives on globalThis: route handlers, the proxy and
 * instrumentation are separate bundles.
 *
 * One load per key at a time: when an entry expires under a burst of requests (an enforcement
 * point calling the status lookup 2,000 times a second), the first request loads it and the
 * others wait for that load, or, within STALE_MS after expiry, answer with the expired entry
 * while it loads. A revocation bumps the generation, so a load that began before it never
 * stores its answer.
 */
import type { Principal } from "./roles";

const TTL_MS = 5_000;
const STALE_MS = 5_000;
const MAX_ENTRIES = 10_000;

class AuthCache {
  private readonly entries = new Map<string, { value: Principal | null; until: number }>();
  private readonly loading = new Map<string, Promise<Principal | null>>();
  private generation = 0;

  async get(key: string, load: () => Promise<Principal | null>): Promise<Principal | null> {
    const hit = this.entries.get(key);
    const now = Date.now();
    if (hit && hit.until > now) return hit.value;
    if (hit && hit.until + STALE_MS > now) {
      this.refresh(key, load).catch(() => {}); // a failed refresh leaves the entry to expire
      return hit.value;
    }
    return this.refresh(key, load);
  }

  private refresh(key: string, load: () => Promise<Principal | null>): Promise<Principal | null> {
    const running = this.loading.get(key);
    if (running) return running;
    const generation = this.generation;
    const p = load()
      .then((value) => {
        if (generation === this.generation) {
          if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
          this.entries.set(key, { value, until: Date.now() + TTL_MS });
        }
        return value;
      })
      .finally(() => {
        if (this.loading.get(key) === p) this.loading.delete(key);
      });
    this.loading.set(key, p);
    return p;
  }

  delete(key: string): void {
    this.generation++;
    this.entries.delete(key);
    this.loading.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.loading.clear();
  }
}

const key = Symbol.for("revenant.authCache");
type WithCache = typeof globalThis & { [key]?: AuthCache };

export function authCache(): AuthCache {
  const g = globalThis as WithCache;
  g[key] ??= new AuthCache();
  return g[key]!;
}
