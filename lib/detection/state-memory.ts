/**
 * revocation_state held in memory (the latest state of every revocation), so that detection's
 * batches, derivations and publisher cycles read states without a query: at 5M events those
 * reads took ~65 s of session time during bench:scale's ingest (588 batch, 219 derivation and
 * every publisher cycle's lookups).
 *
 * Exact: it holds what RevocationStates.get (lib/detection/state.ts) would read, loaded at start
 * and kept by the one place states are written (RevocationStates.put, always under the engine's
 * lock). A put whose answer was lost may have stored a state this memory lacks; what wrote it
 * (a batch, a derivation's commit) is repeated and writes it again. Only valid while this
 * process writes all states (embedded mode, DetectionEngine's soleWriter).
 *
 * Bounded: states grow with revocations, not with events (a few hundred bytes each); a store
 * with more than MAX_STATES revocations turns this off and reads the table, as before.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { streamRows } from "../store/clickhouse";
import { STATE_COLUMNS, stateOfRow, type RevocationState } from "./state";

const MAX_STATES = 200_000;

export class StateMemory {
  /** Revocation id → its latest state; null while not loaded or once turned off. */
  private states: Map<string, RevocationState> | null = null;

  /** Loads the latest state of every revocation (at start: one pass over a table of one row per revocation and change). */
  async load(client: ClickHouseClient): Promise<void> {
    const states = new Map<string, RevocationState>();
    this.states = null;
    for await (const row of streamRows<RevocationState>(
      client,
      "detection:state:load",
      `SELECT ${STATE_COLUMNS} FROM revocation_state ORDER BY version DESC LIMIT 1 BY revocation_id`,
    )) {
      if (states.size >= MAX_STATES) return;
      states.set(row.revocation_id, stateOfRow(row));
    }
    this.states = states;
  }

  /** The states of these ids (absent: no such revocation), as the table holds them; null when not in use. */
  get(ids: Iterable<string>): Map<string, RevocationState> | null {
    const states = this.states;
    if (!states) return null;
    const out = new Map<string, RevocationState>();
    for (const id of ids) {
      const s = states.get(id);
      // A copy: callers derive new states from it with spreads, but must never change the held one.
      if (s) out.set(id, { ...s });
    }
    return out;
  }

  /** States written (and confirmed stored) by RevocationStates.put. */
  remember(written: RevocationState[]): void {
    const states = this.states;
    if (!states) return;
    for (const s of written) {
      if (!states.has(s.revocation_id) && states.size >= MAX_STATES) {
        this.states = null;
        return;
      }
      states.set(s.revocation_id, { ...s });
    }
  }
}
