/**
 * The coverage table held in memory (its latest row per key and revocation), so that a batch
 * is matched against it directly: no lookup query, and no list of the batch's keys to build
 * first. Under an incident the query was the detector's largest cost per batch (~50–80 ms of
 * every violation's way to its alert); once it was gone, collecting a batch's keys and indexing
 * the rows found for them cost ~7 s of the main thread per 5M-event week (bench:scale, CPU
 * profile), which matching against this index spares.
 *
 * Exact, never probabilistic: for any key it gives what `lookupCoverage`
 * (lib/detection/coverage.ts) would return, the newest version of every (key kind, key,
 * revocation) row, loaded at start and kept up to date by the one place coverage is written
 * (DetectionEngine.prepare). Only valid while this process writes all coverage (embedded mode,
 * DetectionEngine's soleWriter); several workers on a server look every batch up.
 *
 * Bounded: coverage grows with revocations and their covered credentials, not with events; a
 * store with more than MAX_ROWS coverage rows simply turns this off and queries every batch.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { streamRows } from "../store/clickhouse";
import { byKeyKind, NO_COVERAGE, type CoverageEntry, type CoverageLookup, type KeyKind } from "./matcher";

const MAX_ROWS = 500_000;

interface Held {
  entry: CoverageEntry;
  version: number;
}

/** The rows of one key, by revocation, and the list `get` hands out (rebuilt after a change). */
interface KeyRows {
  byRevocation: Map<string, Held>;
  entries: CoverageEntry[] | null;
}

export class CoverageMemory implements CoverageLookup {
  /** Key kind → key → its rows; null once turned off. */
  private byKind: Record<KeyKind, Map<string, KeyRows>> | null = byKeyKind<KeyRows>();
  /** Revocation id → its rows, for a derivation's coverage (coverageOf). */
  private byRevocation = new Map<string, Set<Held>>();
  private rows = 0;
  private keys = 0;

  /** Loads every coverage row, keeping the newest version of each (at start: one pass over a small table). */
  async load(client: ClickHouseClient): Promise<void> {
    this.byKind = byKeyKind<KeyRows>();
    this.byRevocation = new Map();
    this.rows = 0;
    this.keys = 0;
    for await (const r of streamRows<CoverageEntry & { version: number }>(
      client,
      "detection:coverage:load",
      `SELECT key_kind, key, revocation_id, via, scope, subject, cascade, revoked_at, reinstated_at, generation, version FROM coverage`,
    )) {
      const { version, ...entry } = r;
      this.hold(entry, Number(version));
      if (!this.byKind) return;
    }
  }

  /** False once the table outgrew MAX_ROWS: the engine then looks every batch up. */
  get active(): boolean {
    return this.byKind !== null;
  }

  /** How many keys have rows. */
  get size(): number {
    return this.keys;
  }

  /** Coverage rows were written with this version (lib/detection/coverage.ts, writeCoverage). */
  add(rows: Iterable<CoverageEntry>, version: number): void {
    for (const r of rows) {
      if (!this.byKind) return;
      this.hold(r, version);
    }
  }

  /** The rows of one key, as lookupCoverage would return them (the same empty list for none; not to be changed). */
  get(kind: KeyKind, key: string): readonly CoverageEntry[] {
    if (key === "" || !this.byKind) return NO_COVERAGE;
    // A kind no revocation covers (often sessions or pipelines) costs no hashing of the key.
    const byKey = this.byKind[kind];
    if (byKey.size === 0) return NO_COVERAGE;
    const rows = byKey.get(key);
    if (!rows) return NO_COVERAGE;
    return (rows.entries ??= [...rows.byRevocation.values()].map((h) => h.entry));
  }

  coversCredential(revocationId: string, credential: string): boolean {
    return this.byKind?.credential.get(credential)?.byRevocation.has(revocationId) ?? false;
  }

  /**
   * Every row of these revocations, as coverageOf (lib/detection/coverage.ts) would return them:
   * the newest row of each of their keys, whatever its generation; null when turned off.
   */
  ofRevocations(ids: Iterable<string>): CoverageEntry[] | null {
    if (!this.byKind) return null;
    const out: CoverageEntry[] = [];
    for (const id of ids) for (const h of this.byRevocation.get(id) ?? []) out.push(h.entry);
    return out;
  }

  private hold(entry: CoverageEntry, version: number): void {
    const byKey = this.byKind![entry.key_kind];
    let rows = byKey.get(entry.key);
    if (!rows) {
      byKey.set(entry.key, (rows = { byRevocation: new Map(), entries: null }));
      this.keys++;
    }
    const held = rows.byRevocation.get(entry.revocation_id);
    if (held && held.version >= version) return;
    if (!held && ++this.rows > MAX_ROWS) {
      this.byKind = null;
      this.byRevocation = new Map();
      return;
    }
    const fresh = { entry: { ...entry, generation: Number(entry.generation) }, version };
    rows.byRevocation.set(entry.revocation_id, fresh);
    rows.entries = null;
    let ofRevocation = this.byRevocation.get(entry.revocation_id);
    if (!ofRevocation) this.byRevocation.set(entry.revocation_id, (ofRevocation = new Set()));
    if (held) ofRevocation.delete(held);
    ofRevocation.add(fresh);
  }
}
