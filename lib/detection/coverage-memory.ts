/**
 * The coverage table held in memory (its latest row per key and revocation), so that a batch
 * finds its coverage, and a derivation its revocations' rows, without a query: the lookup was
 * the detector's largest cost per batch under an incident (~50–80 ms of every violation's way
 * to its alert), and a batch whose keys no revocation covers needs nothing at all.
 *
 * Exact, never probabilistic: it holds what `lookupCoverage` (lib/detection/coverage.ts) would
 * return, the newest version of every (key kind, key, revocation) row, loaded at start and kept
 * up to date by the one place coverage is written (DetectionEngine.prepare). Only valid while
 * this process writes all coverage (embedded mode, DetectionEngine's soleWriter); several
 * workers on a server look every batch up.
 *
 * Bounded: coverage grows with revocations and their covered credentials, not with events; a
 * store with more than MAX_ROWS coverage rows simply turns this off and queries every batch,
 * as before.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { streamRows } from "../store/clickhouse";
import type { CoverageEntry, KeyKind } from "./matcher";

const MAX_ROWS = 500_000;

interface Held {
  entry: CoverageEntry;
  version: number;
}

const keyOf = (kind: string, key: string) => `${kind}\u0000${key}`;

export class CoverageMemory {
  /** (kind, key) → revocation id → its newest row; null once turned off. */
  private byKey: Map<string, Map<string, Held>> | null = new Map();
  /** Revocation id → (kind, key) → the same rows, for a derivation's coverage (coverageOf). */
  private byRevocation = new Map<string, Map<string, Held>>();
  private rows = 0;

  /** Loads every coverage row, keeping the newest version of each (at start: one pass over a small table). */
  async load(client: ClickHouseClient): Promise<void> {
    this.byKey = new Map();
    this.byRevocation = new Map();
    this.rows = 0;
    for await (const r of streamRows<CoverageEntry & { version: number }>(
      client,
      "detection:coverage:load",
      `SELECT key_kind, key, revocation_id, via, scope, subject, cascade, revoked_at, reinstated_at, generation, version FROM coverage`,
    )) {
      const { version, ...entry } = r;
      this.hold(entry, Number(version));
      if (!this.byKey) return;
    }
  }

  /** Coverage rows were written with this version (lib/detection/coverage.ts, writeCoverage). */
  add(rows: Iterable<CoverageEntry>, version: number): void {
    for (const r of rows) {
      if (!this.byKey) return;
      this.hold(r, version);
    }
  }

  /** The coverage rows of these keys, as lookupCoverage would return them; null when turned off. */
  lookup(keys: Record<KeyKind, string[]>): CoverageEntry[] | null {
    const byKey = this.byKey;
    if (!byKey) return null;
    const out: CoverageEntry[] = [];
    for (const kind of Object.keys(keys) as KeyKind[]) {
      for (const key of keys[kind]) {
        const held = byKey.get(keyOf(kind, key));
        if (held) for (const h of held.values()) out.push(h.entry);
      }
    }
    return out;
  }

  /**
   * Every row of these revocations, as coverageOf (lib/detection/coverage.ts) would return them:
   * the newest row of each of their keys, whatever its generation; null when turned off.
   */
  ofRevocations(ids: Iterable<string>): CoverageEntry[] | null {
    if (!this.byKey) return null;
    const out: CoverageEntry[] = [];
    for (const id of ids) for (const h of this.byRevocation.get(id)?.values() ?? []) out.push(h.entry);
    return out;
  }

  private hold(entry: CoverageEntry, version: number): void {
    const k = keyOf(entry.key_kind, entry.key);
    let revocations = this.byKey!.get(k);
    if (!revocations) this.byKey!.set(k, (revocations = new Map()));
    const held = revocations.get(entry.revocation_id);
    if (held && held.version >= version) return;
    if (!held && ++this.rows > MAX_ROWS) {
      this.byKey = null;
      this.byRevocation = new Map();
      return;
    }
    const fresh = { entry: { ...entry, generation: Number(entry.generation) }, version };
    revocations.set(entry.revocation_id, fresh);
    let keys = this.byRevocation.get(entry.revocation_id);
    if (!keys) this.byRevocation.set(entry.revocation_id, (keys = new Map()));
    keys.set(k, fresh);
  }
}
