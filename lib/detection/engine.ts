/**
 * The detection engine: ClickHouse queries are the source of truth (SPEC §2).
 *
 * For each revocation V it asks ClickHouse for V's covered credentials (root set from
 * credential_presence, descendants from credential_lineage) and for the actions inside
 * V's window that V covers, then rewrites V's post-revocation actions, summary and
 * alerts. Every evaluation recomputes V from stored data alone, so the result does not
 * depend on the order events arrived in: a late revocation, a late reinstatement or a
 * late credential_issued simply makes the next evaluation see more.
 *
 * Only what new data can change is re-evaluated: an in-memory index maps subjects and
 * covered credentials to revocations, and a batch of events marks the revocations whose
 * subject or covered credentials it mentions. The index is rebuilt from ClickHouse at
 * start, followed by a full sweep, so a crash between storing a batch and evaluating it
 * is repaired on restart.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { AlertHistoryEntry } from "../alerts/store";
import { AlertStore } from "../alerts/store";
import type { RevocationScope, StoredEvent } from "../events/schema";
import { logger } from "../log";
import { queryRows, timeParam } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { deriveAlerts, summarise, type RevocationInfo } from "./derive";
import type { DetectionSettings, PostRevocationAction, RevocationSummary } from "./types";

/** The events column that matches each scope directly. Fixed identifiers, never user input. */
const SCOPE_FIELD: Record<RevocationScope, "agent_id" | "session_id" | "credential_id" | "pipeline_id"> = {
  agent: "agent_id",
  session: "session_id",
  credential: "credential_id",
  pipeline: "pipeline_id",
};

interface RevocationEventRow {
  event_id: string;
  type: "revocation" | "reinstatement";
  time: string;
  scope: RevocationScope;
  subject: string;
  cascade: boolean;
  reason: string;
  initiated_by: string;
}

interface PairRow extends Omit<PostRevocationAction, "via" | "violation" | "revocation_id"> {
  direct: number;
}

const subjectKey = (scope: string, subject: string) => `${scope}\u0000${subject}`;

export interface EvaluationOutcome {
  summary: RevocationSummary;
  pairs: PostRevocationAction[];
  alertChanges: AlertHistoryEntry[];
}

export class DetectionEngine {
  private readonly log = logger().child({ component: "detection" });
  private readonly alerts: AlertStore;
  private revocations = new Map<string, RevocationEventRow>();
  /** scope+subject → reinstatement times (ISO), ascending. */
  private reinstatements = new Map<string, string[]>();
  private bySubject = new Map<string, Set<string>>();
  private covered = new Map<string, Set<string>>();
  private byCoveredCredential = new Map<string, Set<string>>();
  /** Serialises evaluations: one chdb session runs one query at a time anyway. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Revocations whose last evaluation failed: retried with the next batch and by retryFailed(). */
  private failed = new Set<string>();
  /** The last evaluation error, null once every revocation evaluated cleanly again. */
  lastError: string | null = null;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly settings: DetectionSettings,
    private readonly onAlertChanges: (changes: AlertHistoryEntry[]) => void = () => {},
  ) {
    this.alerts = new AlertStore(client);
  }

  /** Loads every revocation and reinstatement, then evaluates all revocations. */
  async start(): Promise<void> {
    const rows = await queryRows<RevocationEventRow>(
      this.client,
      "detection:load",
      `SELECT event_id, type, time, scope, subject, cascade, reason, initiated_by FROM revocation_events FINAL ORDER BY time, event_id`,
    );
    for (const r of rows) this.index(r);
    await this.evaluate([...this.revocations.keys()]);
    this.log.info({ revocations: this.revocations.size }, "detection started: full sweep done");
  }

  /** Re-evaluates the revocations a stored batch of events can change. */
  async onEvents(events: StoredEvent[]): Promise<void> {
    // Hot path: with no revocation known and none in the batch, nothing can be affected.
    if (this.revocations.size === 0 && this.failed.size === 0 && !events.some((e) => e.type === "revocation" || e.type === "reinstatement")) return;
    const affected = new Set<string>();
    const mark = (ids: Set<string> | undefined) => ids?.forEach((id) => affected.add(id));
    for (const e of events) {
      if (e.type === "revocation" || e.type === "reinstatement") {
        const row: RevocationEventRow = {
          event_id: e.event_id, type: e.type, time: e.time, scope: e.rev_scope as RevocationScope,
          subject: e.rev_subject, cascade: e.rev_cascade, reason: e.rev_reason, initiated_by: e.rev_initiated_by,
        };
        this.index(row);
        mark(this.bySubject.get(subjectKey(row.scope, row.subject)));
        continue;
      }
      // Direct matches, and root-set growth (a subject issuing or presenting a credential).
      if (e.agent_id) mark(this.bySubject.get(subjectKey("agent", e.agent_id)));
      if (e.session_id) mark(this.bySubject.get(subjectKey("session", e.session_id)));
      if (e.pipeline_id) mark(this.bySubject.get(subjectKey("pipeline", e.pipeline_id)));
      if (e.credential_id) {
        mark(this.bySubject.get(subjectKey("credential", e.credential_id)));
        mark(this.byCoveredCredential.get(e.credential_id));
      }
      // Lineage growth: a child of a covered credential becomes covered.
      if (e.cred_id) {
        mark(this.bySubject.get(subjectKey("credential", e.cred_id)));
        mark(this.byCoveredCredential.get(e.cred_id));
        if (e.cred_parent_id) mark(this.byCoveredCredential.get(e.cred_parent_id));
      }
    }
    for (const id of this.failed) affected.add(id);
    if (affected.size) await this.evaluate([...affected]);
  }

  /** Re-evaluates the revocations whose evaluation failed (called periodically by the worker). */
  async retryFailed(): Promise<void> {
    if (this.failed.size) await this.evaluate([...this.failed]);
  }

  failedCount(): number {
    return this.failed.size;
  }

  /**
   * Evaluates the given revocations one after another (serialised across callers). One
   * failing revocation does not stop the others: it is remembered and retried, so a
   * transient ClickHouse error delays its results but never loses them.
   */
  evaluate(revocationIds: string[]): Promise<EvaluationOutcome[]> {
    const run = this.queue.then(async () => {
      const out: EvaluationOutcome[] = [];
      for (const id of revocationIds) {
        const rev = this.revocations.get(id);
        if (!rev) continue;
        try {
          out.push(await this.evaluateOne(rev));
          this.failed.delete(id);
        } catch (err) {
          this.failed.add(id);
          this.lastError = (err as Error).message;
          this.log.error({ revocation_id: id, err: this.lastError }, "evaluation failed; will retry");
        }
      }
      if (this.failed.size === 0) this.lastError = null;
      return out;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  knownRevocations(): string[] {
    return [...this.revocations.keys()];
  }

  private index(r: RevocationEventRow): void {
    const key = subjectKey(r.scope, r.subject);
    if (r.type === "reinstatement") {
      const times = this.reinstatements.get(key) ?? [];
      if (!times.includes(r.time)) {
        times.push(r.time);
        times.sort();
      }
      this.reinstatements.set(key, times);
      return;
    }
    this.revocations.set(r.event_id, r);
    const set = this.bySubject.get(key) ?? new Set<string>();
    set.add(r.event_id);
    this.bySubject.set(key, set);
  }

  private reinstatedAt(r: RevocationEventRow): string | null {
    // ISO strings of one format compare like times.
    return this.reinstatements.get(subjectKey(r.scope, r.subject))?.find((t) => t > r.time) ?? null;
  }

  private async coveredCredentials(r: RevocationEventRow): Promise<Set<string>> {
    const covered = new Set<string>();
    if (r.scope === "credential") {
      covered.add(r.subject);
    } else {
      const roots = await queryRows<{ credential_id: string }>(
        this.client,
        "detection:rootSet",
        `SELECT DISTINCT credential_id FROM credential_presence WHERE owner_kind = {kind:String} AND owner_id = {subject:String}`,
        { kind: r.scope, subject: r.subject },
      );
      roots.forEach((x) => covered.add(x.credential_id));
    }
    if (!r.cascade) return covered;
    // Breadth-first down the lineage, any depth (SPEC §2); a credential already covered is
    // never visited twice, which also ends cycles.
    let frontier = [...covered];
    while (frontier.length) {
      const children = await queryRows<{ credential_id: string }>(
        this.client,
        "detection:lineage",
        `SELECT DISTINCT credential_id FROM credential_lineage WHERE parent_id IN {parents:Array(String)}`,
        { parents: frontier },
      );
      frontier = children.map((c) => c.credential_id).filter((c) => !covered.has(c));
      frontier.forEach((c) => covered.add(c));
    }
    return covered;
  }

  private async findPairs(r: RevocationEventRow, covered: Set<string>, until: string | null): Promise<PostRevocationAction[]> {
    const field = SCOPE_FIELD[r.scope];
    const layerNames = Object.keys(this.settings.layerGraceMs);
    const params = {
      subject: r.subject,
      revoked_at: r.time,
      until: until ?? "2299-12-31T23:59:59.999Z",
      grace: this.settings.graceMs,
      grace_layers: layerNames,
      grace_values: layerNames.map((l) => this.settings.layerGraceMs[l]),
      covered: [...covered],
    };
    // The window (R + grace(layer), L]; grace ≥ 0, so "time > R" prunes partitions first.
    const window = `time > ${timeParam("revoked_at")} AND time <= ${timeParam("until")}
      AND time > addMilliseconds(${timeParam("revoked_at")},
            if(has({grace_layers:Array(String)}, layer),
               {grace_values:Array(Int64)}[indexOf({grace_layers:Array(String)}, layer)],
               {grace:Int64}))`;
    const columns = `event_id, time, agent_id, pipeline_id, session_id, credential_id, layer, action, resource, decision, sensitivity`;
    // Two queries rather than one OR: the direct one uses the primary key (agent scope) or a
    // skip index on its field; the cascade one the credential_id bloom filter.
    const direct = await queryRows<PairRow>(
      this.client,
      "detection:pairs:direct",
      `SELECT ${columns}, 1 AS direct FROM events FINAL
       WHERE ${field} = {subject:String} AND type = 'action' AND ${window}`,
      params,
    );
    const viaCascade = covered.size
      ? await queryRows<PairRow>(
          this.client,
          "detection:pairs:cascade",
          `SELECT ${columns}, 0 AS direct FROM events FINAL
           WHERE credential_id IN {covered:Array(String)} AND credential_id != '' AND ${field} != {subject:String}
             AND type = 'action' AND ${window}`,
          params,
        )
      : [];
    return [...direct, ...viaCascade].map(({ direct: isDirect, ...p }) => ({
      ...p,
      revocation_id: r.event_id,
      via: isDirect ? "direct" : "cascade",
      violation: p.decision !== "deny",
    }));
  }

  private async evaluateOne(r: RevocationEventRow): Promise<EvaluationOutcome> {
    const covered = await this.coveredCredentials(r);
    this.setCovered(r.event_id, covered);
    const reinstatedAt = this.reinstatedAt(r);
    const pairs = await this.findPairs(r, covered, reinstatedAt);
    await this.writePairs(r.event_id, pairs);
    const info: RevocationInfo = {
      event_id: r.event_id, time: r.time, scope: r.scope, subject: r.subject, cascade: r.cascade,
      reason: r.reason, initiated_by: r.initiated_by, reinstated_at: reinstatedAt,
    };
    const summary = summarise(info, pairs);
    await this.writeSummary(summary, pairs);
    const alertChanges = await this.alerts.reconcile(r.event_id, deriveAlerts(info, pairs));
    if (alertChanges.length) this.onAlertChanges(alertChanges);
    return { summary, pairs, alertChanges };
  }

  private setCovered(revocationId: string, covered: Set<string>): void {
    for (const c of this.covered.get(revocationId) ?? []) this.byCoveredCredential.get(c)?.delete(revocationId);
    this.covered.set(revocationId, covered);
    for (const c of covered) {
      const set = this.byCoveredCredential.get(c) ?? new Set<string>();
      set.add(revocationId);
      this.byCoveredCredential.set(c, set);
    }
  }

  /** Inserts new pairs and tombstones vanished ones, in one insert. Unchanged pairs are not rewritten. */
  private async writePairs(revocationId: string, pairs: PostRevocationAction[]): Promise<void> {
    const stored = await queryRows<{ event_id: string; via: string }>(
      this.client,
      "detection:storedPairs",
      `SELECT event_id, via FROM post_revocation_actions FINAL WHERE revocation_id = {rev:String}`,
      { rev: revocationId },
    );
    const storedVia = new Map(stored.map((s) => [s.event_id, s.via]));
    const current = new Set(pairs.map((p) => p.event_id));
    const version = nextVersion();
    const rows = [
      ...pairs.filter((p) => storedVia.get(p.event_id) !== p.via).map((p) => ({ ...p, version, is_deleted: 0 })),
      ...stored
        .filter((s) => !current.has(s.event_id))
        .map((s) => ({ revocation_id: revocationId, event_id: s.event_id, version, is_deleted: 1 })),
    ];
    if (rows.length === 0) return;
    await this.client.insert({
      table: "post_revocation_actions",
      values: rows,
      format: "JSONEachRow",
      clickhouse_settings: { log_comment: "detection:writePairs", input_format_skip_unknown_fields: 1 },
    });
  }

  private async writeSummary(s: RevocationSummary, pairs: PostRevocationAction[]): Promise<void> {
    const agents = [...new Set(pairs.map((p) => p.agent_id))].sort();
    const pipelines = [...new Set(pairs.map((p) => p.pipeline_id).filter(Boolean))].sort();
    await this.client.insert({
      table: "revocation_status",
      values: [{ ...s, version: nextVersion(), agents, pipelines, evaluated_at: new Date().toISOString() }],
      format: "JSONEachRow",
      clickhouse_settings: { log_comment: "detection:writeSummary", input_format_skip_unknown_fields: 1 },
    });
  }
}
