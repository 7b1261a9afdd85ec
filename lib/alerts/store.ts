/**
 * Alerts: detection owns their content (counts, layers, severity), analysts own their
 * status. Every change writes a new version of the alert row and a history row; the
 * history is also the outbox the webhook dispatcher tails (lib/webhooks), so an alert
 * change that is stored is never lost to webhooks, even across a crash.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { DerivedAlert } from "../detection/types";
import { queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";

export const ALERT_STATUSES = ["open", "acknowledged", "resolved"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface Alert extends DerivedAlert {
  status: AlertStatus;
  created_at: string;
  updated_at: string;
  status_changed_at: string;
  /** True once new violations re-opened an acknowledged or resolved alert. */
  reopened: boolean;
}

export type AlertChangeKind = "raised" | "updated" | "reopened" | "acknowledged" | "resolved" | "withdrawn";

export interface AlertHistoryEntry {
  alert_id: string;
  at: string;
  seq: number;
  kind: AlertChangeKind;
  from_status: string;
  to_status: string;
  actor: string;
  comment: string;
  violation_count: number;
}

interface AlertRow extends Alert {
  version: number;
  is_deleted: number;
}

const ALERT_COLUMNS = `id, rule, severity, status, revocation_id, agent_id, pipeline_id, layers_enforcing, layers_leaking,
  violation_count, first_violation_at, last_violation_at, sample_event_ids, created_at, updated_at, status_changed_at, reopened`;

function contentChanged(a: DerivedAlert, b: DerivedAlert): boolean {
  return (
    a.severity !== b.severity ||
    a.violation_count !== b.violation_count ||
    a.first_violation_at !== b.first_violation_at ||
    a.last_violation_at !== b.last_violation_at ||
    a.pipeline_id !== b.pipeline_id ||
    a.layers_enforcing.join() !== b.layers_enforcing.join() ||
    a.layers_leaking.join() !== b.layers_leaking.join() ||
    a.sample_event_ids.join() !== b.sample_event_ids.join()
  );
}

/**
 * Detection (reconcile) and analysts (setStatus) both read an alert and write a new version
 * of the whole row. Running those read-modify-writes one at a time keeps either from
 * overwriting the other's change. The lock is per process, on globalThis because route
 * handlers and the worker are separate bundles; in embedded mode (one process) that covers
 * every writer. In server mode a web process and the worker can still race within a few ms.
 */
const lockKey = Symbol.for("revenant.alertWriteLock");
type WithLock = typeof globalThis & { [lockKey]?: Promise<unknown> };

function withAlertLock<T>(fn: () => Promise<T>): Promise<T> {
  const g = globalThis as WithLock;
  const run = (g[lockKey] ?? Promise.resolve()).then(fn);
  g[lockKey] = run.catch(() => {});
  return run;
}

export class AlertStore {
  constructor(private readonly client: ClickHouseClient) {}

  async byRevocation(revocationId: string): Promise<Alert[]> {
    return queryRows<Alert>(
      this.client,
      "alerts:byRevocation",
      `SELECT ${ALERT_COLUMNS} FROM alerts FINAL WHERE revocation_id = {rev:String}`,
      { rev: revocationId },
    );
  }

  async get(id: string): Promise<Alert | null> {
    const rows = await queryRows<Alert>(this.client, "alerts:get", `SELECT ${ALERT_COLUMNS} FROM alerts FINAL WHERE id = {id:String}`, { id });
    return rows[0] ?? null;
  }

  async history(id: string): Promise<AlertHistoryEntry[]> {
    return queryRows<AlertHistoryEntry>(
      this.client,
      "alerts:history",
      `SELECT alert_id, at, seq, kind, from_status, to_status, actor, comment, violation_count
       FROM alert_history WHERE alert_id = {id:String} ORDER BY at, seq`,
      { id },
    );
  }

  /**
   * Brings the stored alerts of one revocation in line with what detection derived:
   * new ones are raised (open), changed ones updated in place, and an acknowledged or
   * resolved alert that got new violations since its status change goes back to open.
   * Alerts no longer derived (a late reinstatement closed the window) are withdrawn.
   */
  reconcile(revocationId: string, derived: DerivedAlert[]): Promise<AlertHistoryEntry[]> {
    return withAlertLock(() => this.reconcileLocked(revocationId, derived));
  }

  private async reconcileLocked(revocationId: string, derived: DerivedAlert[]): Promise<AlertHistoryEntry[]> {
    const existing = new Map((await this.byRevocation(revocationId)).map((a) => [a.id, a]));
    const now = new Date().toISOString();
    const rows: AlertRow[] = [];
    const history: AlertHistoryEntry[] = [];
    const record = (alert: Alert, kind: AlertChangeKind, from: string, deleted = 0) => {
      const version = nextVersion();
      rows.push({ ...alert, version, is_deleted: deleted });
      history.push({ alert_id: alert.id, at: now, seq: version, kind, from_status: from, to_status: alert.status, actor: "detection", comment: "", violation_count: alert.violation_count });
    };
    for (const d of derived) {
      const old = existing.get(d.id);
      existing.delete(d.id);
      if (!old) {
        record({ ...d, status: "open", created_at: now, updated_at: now, status_changed_at: now, reopened: false }, "raised", "");
        continue;
      }
      if (!contentChanged(old, d)) continue;
      const newViolations = d.violation_count > old.violation_count || d.last_violation_at > old.last_violation_at;
      if (old.status !== "open" && newViolations) {
        record({ ...old, ...d, status: "open", updated_at: now, status_changed_at: now, reopened: true }, "reopened", old.status);
      } else {
        record({ ...old, ...d, updated_at: now }, "updated", old.status);
      }
    }
    for (const gone of existing.values()) record({ ...gone, updated_at: now }, "withdrawn", gone.status, 1);
    await this.write(rows, history);
    return history;
  }

  /** An analyst acknowledges or resolves (or re-opens) an alert. Returns null if it does not exist. */
  setStatus(id: string, status: AlertStatus, actor: string, comment = ""): Promise<Alert | null> {
    return withAlertLock(() => this.setStatusLocked(id, status, actor, comment));
  }

  private async setStatusLocked(id: string, status: AlertStatus, actor: string, comment: string): Promise<Alert | null> {
    const old = await this.get(id);
    if (!old) return null;
    const now = new Date().toISOString();
    const next: Alert = { ...old, status, updated_at: now, status_changed_at: now };
    const version = nextVersion();
    const kind: AlertChangeKind = status === "open" ? "reopened" : status;
    await this.write(
      [{ ...next, version, is_deleted: 0 }],
      [{ alert_id: id, at: now, seq: version, kind, from_status: old.status, to_status: status, actor, comment, violation_count: old.violation_count }],
    );
    return next;
  }

  private async write(rows: AlertRow[], history: AlertHistoryEntry[]): Promise<void> {
    if (rows.length === 0) return;
    // History first: if the process dies between the two inserts, re-evaluation rewrites
    // the alert row, and the webhook outbox already holds the change.
    await this.client.insert({ table: "alert_history", values: history, format: "JSONEachRow", clickhouse_settings: { log_comment: "alerts:history" } });
    await this.client.insert({ table: "alerts", values: rows, format: "JSONEachRow", clickhouse_settings: { log_comment: "alerts:write" } });
  }
}
