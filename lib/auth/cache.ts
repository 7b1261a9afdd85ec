/**
 * A few seconds of memory for credential lookups, so that a page with many API calls does
 * not hit ClickHouse for each. Revocations in this process clear it at once; another
 * process sees them within TTL_MS. Lives on globalThis: route handlers, the proxy and
 * instrumentation are separate bundles (TOOLCHAIN.md).
 */
import type { Principal } from "./roles";

const TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

class AuthCache {
  private readonly entries = new Map<string, { value: Principal | null; until: number }>();

  async get(key: string, load: () => Promise<Principal | null>): Promise<Principal | null> {
    const hit = this.entries.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = await load();
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + TTL_MS });
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

const key = Symbol.for("revenant.authCache");
type WithCache = typeof globalThis & { [key]?: AuthCache };

export function authCache(): AuthCache {
  const g = globalThis as WithCache;
  g[key] ??= new AuthCache();
  return g[key]!;
}
