/**
 * Which keys coverage has any row for, held in memory so that a batch whose keys no revocation
 * covers skips the coverage lookup (under an incident most of the traffic is of agents nobody
 * revoked, and the lookup was the detector's largest cost per batch).
 *
 * Exact, never probabilistic: a key is listed once any coverage row names it (in any
 * generation, current or not), so a key missing here has no coverage row and the lookup could
 * only have come back empty. Only valid while this process writes all coverage (embedded
 * mode, DetectionEngine's soleWriter); several workers on a server look every key up.
 *
 * Bounded: coverage grows with revocations, not with events, but a store with more than
 * MAX_KEYS covered keys simply turns this off and looks every batch up, as before.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { streamRows } from "../store/clickhouse";
import type { KeyKind } from "./matcher";

const MAX_KEYS = 500_000;

export class CoveredKeys {
  private keys: Set<string> | null = new Set();

  /** Loads every key coverage names (at start: one pass over the table's primary key). */
  async load(client: ClickHouseClient): Promise<void> {
    const keys = new Set<string>();
    for await (const r of streamRows<{ key_kind: KeyKind; key: string }>(client, "detection:coverage:keys", `SELECT DISTINCT key_kind, key FROM coverage`)) {
      keys.add(`${r.key_kind}\u0000${r.key}`);
      if (keys.size > MAX_KEYS) {
        this.keys = null;
        return;
      }
    }
    this.keys = keys;
  }

  /** Coverage rows were written for these keys. */
  add(rows: Iterable<{ key_kind: KeyKind; key: string }>): void {
    if (!this.keys) return;
    for (const r of rows) this.keys.add(`${r.key_kind}\u0000${r.key}`);
    if (this.keys.size > MAX_KEYS) this.keys = null;
  }

  /** The keys among `keys` that coverage may have rows for (all of them when turned off). */
  filter(keys: Record<KeyKind, string[]>): Record<KeyKind, string[]> {
    const known = this.keys;
    if (!known) return keys;
    const out = {} as Record<KeyKind, string[]>;
    for (const kind of Object.keys(keys) as KeyKind[]) out[kind] = keys[kind].filter((k) => known.has(`${kind}\u0000${k}`));
    return out;
  }
}
