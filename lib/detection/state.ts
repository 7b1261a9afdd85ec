/**
 * Detection's bookkeeping per revocation (table revocation_state, lib/store/migrations/020_coverage.sql):
 * the revocation itself, its window end, the generation readers use and the one new pairs go to,
 * and whether a derivation from scratch is due. The sole writer holds it in memory too
 * (lib/detection/state-memory.ts); otherwise it is read from the table every time.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { StoredEvent } from "../events/schema";
import { insertRows, queryRows, timeBound } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import type { KeyKind } from "./matcher";
import type { StateMemory } from "./state-memory";

export interface RevocationState {
  revocation_id: string;
  scope: KeyKind;
  subject: string;
  cascade: boolean;
  reason: string;
  initiated_by: string;
  revoked_at: string;
  reinstated_at: string | null;
  /** The committed generation: summaries and alerts are read from it (0: never derived). */
  generation: number;
  /** The generation new pairs are written to (ahead of `generation` while a derivation is due). */
  write_generation: number;
  pending: number;
}

export const STATE_COLUMNS = `revocation_id, scope, subject, cascade, reason, initiated_by, revoked_at, reinstated_at, generation, write_generation, pending`;

/** A row as read from revocation_state (its counters come as strings or numbers). */
export function stateOfRow(r: RevocationState): RevocationState {
  return { ...r, generation: Number(r.generation), write_generation: Number(r.write_generation), pending: Number(r.pending) };
}

/** A revocation event as a state that was never derived. */
export function initialState(e: StoredEvent): RevocationState {
  return {
    revocation_id: e.event_id,
    scope: e.rev_scope as KeyKind,
    subject: e.rev_subject,
    cascade: e.rev_cascade,
    reason: e.rev_reason,
    initiated_by: e.rev_initiated_by,
    revoked_at: e.time,
    reinstated_at: null,
    generation: 0,
    write_generation: 0,
    pending: 0,
  };
}

/** The generation summaries and alerts of this revocation are read from right now. */
export function readGeneration(s: RevocationState): number | null {
  if (!s.pending) return s.generation;
  // Never derived, in its first generation: the pairs found so far are a subset of the final
  // ones, so counts only grow. Derived before, or rewritten into a later generation before its
  // first derivation (grown, reinstated, repaired): that generation holds only what batches
  // found since, so what was published stands until the derivation commits.
  return s.generation === 0 && s.write_generation <= 1 ? s.write_generation : null;
}

export class RevocationStates {
  /** `memory`: the states held in memory by the sole writer (lib/detection/state-memory.ts), shared by every reader and writer of states. */
  constructor(
    private readonly client: ClickHouseClient,
    private readonly memory: StateMemory | null = null,
  ) {}

  async get(ids: string[]): Promise<Map<string, RevocationState>> {
    if (ids.length === 0) return new Map();
    const held = this.memory?.get(ids);
    if (held) return held;
    const rows = await queryRows<RevocationState>(
      this.client,
      "detection:state:get",
      // The latest version per revocation without FINAL: a primary-key lookup (see lib/detection/pairs.ts).
      `SELECT ${STATE_COLUMNS} FROM revocation_state WHERE revocation_id IN {ids:Array(String)} ORDER BY version DESC LIMIT 1 BY revocation_id`,
      { ids },
    );
    return new Map(rows.map((r) => [r.revocation_id, stateOfRow(r)]));
  }

  /** Ids of the revocations whose derivation is due (resumed after a restart). */
  async pendingIds(): Promise<string[]> {
    const rows = await queryRows<{ revocation_id: string }>(
      this.client,
      "detection:state:pending",
      `SELECT revocation_id FROM revocation_state FINAL WHERE pending = 1`,
    );
    return rows.map((r) => r.revocation_id);
  }

  /**
   * Revocations whose coverage rows are of a newer generation than their state records. A
   * prepare (lib/detection/engine.ts) writes the coverage first and the state after it, so
   * these are prepares that a crash cut short in between: their coverage already names what
   * they gained, which hides the growth from the batch delivered again. Read from the tables
   * (the sole writer's memory was loaded from them): two small tables, grouped once.
   */
  async coverageAhead(): Promise<string[]> {
    const rows = await queryRows<{ revocation_id: string }>(
      this.client,
      "detection:state:coverageAhead",
      `SELECT c.revocation_id AS revocation_id
       FROM (SELECT revocation_id, max(generation) AS written FROM coverage FINAL GROUP BY revocation_id) AS c
       INNER JOIN (SELECT revocation_id, write_generation FROM revocation_state FINAL) AS s ON s.revocation_id = c.revocation_id
       WHERE c.written > s.write_generation`,
    );
    return rows.map((r) => r.revocation_id);
  }

  async put(states: RevocationState[]): Promise<void> {
    if (states.length === 0) return;
    const version = nextVersion();
    await insertRows(this.client, "revocation_state", states.map((s) => ({ ...s, version })), { comment: "detection:state:put" });
    this.memory?.remember(states);
  }

  /** Revocation ids of the given (scope, subject) pairs that took effect before `before`. */
  async revocationsOfSubjects(subjects: { scope: string; subject: string; before: string }[]): Promise<string[]> {
    if (subjects.length === 0) return [];
    const latest = subjects.reduce((a, b) => (a.before > b.before ? a : b)).before;
    const rows = await queryRows<{ event_id: string; scope: string; subject: string; time: string }>(
      this.client,
      "detection:state:bySubject",
      // No FINAL (here and in windowEnds): copies of one event are identical rows (a conflicting
      // copy is never stored in events), so they change no answer, and FINAL would merge every part.
      `SELECT event_id, scope, subject, time FROM revocation_events
       WHERE type = 'revocation' AND scope IN {scopes:Array(String)} AND subject IN {subjects:Array(String)} AND time < ${timeBound("latest")}`,
      { scopes: [...new Set(subjects.map((s) => s.scope))], subjects: [...new Set(subjects.map((s) => s.subject))], latest },
    );
    const ids = rows
      .filter((r) => subjects.some((s) => s.scope === r.scope && s.subject === r.subject && r.time < s.before))
      .map((r) => r.event_id);
    return [...new Set(ids)];
  }

  /** L of each revocation: the first reinstatement of its scope and subject strictly after R, else null. */
  async windowEnds(states: Pick<RevocationState, "revocation_id" | "scope" | "subject" | "revoked_at">[]): Promise<Map<string, string | null>> {
    const ends = new Map<string, string | null>(states.map((s) => [s.revocation_id, null]));
    if (states.length === 0) return ends;
    const earliest = states.reduce((a, b) => (a.revoked_at < b.revoked_at ? a : b)).revoked_at;
    const rows = await queryRows<{ scope: string; subject: string; time: string }>(
      this.client,
      "detection:state:windowEnds",
      `SELECT scope, subject, time FROM revocation_events
       WHERE type = 'reinstatement' AND scope IN {scopes:Array(String)} AND subject IN {subjects:Array(String)}
         AND time > ${timeBound("earliest")}`,
      { scopes: [...new Set(states.map((s) => s.scope))], subjects: [...new Set(states.map((s) => s.subject))], earliest },
    );
    const timesOf = new Map<string, string[]>();
    for (const r of rows) {
      const key = `${r.scope}\u0000${r.subject}`;
      timesOf.set(key, [...(timesOf.get(key) ?? []), r.time]);
    }
    // ISO-8601 UTC strings of one format compare like the times they name.
    for (const s of states) {
      for (const t of timesOf.get(`${s.scope}\u0000${s.subject}`) ?? []) {
        const end = ends.get(s.revocation_id);
        if (t > s.revoked_at && (end === null || t < end!)) ends.set(s.revocation_id, t);
      }
    }
    return ends;
  }
}
