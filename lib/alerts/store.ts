/**
 * Alerts: detection owns their content (counts, layers, severity), analysts own their
 * status. Every change writes a new version of the alert row and a history row; the
 * history is also the outbox the webhook dispatcher tails (lib/webhooks), so an alert
 * change that is stored is never lost to webhooks, even across a crash.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { DerivedAlert } from "../detection/types";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";
import { withThreadsLock } from "../threads/lock";

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

/** Bookkeeping of coalesced notifications (never part of the API shape). */
interface StoredAlert extends Alert {
  /** When the last history row (= webhook notification) of this alert was written. */
  notified_at: string;
  /** 1 while an update is owed: counts grew since notified_at but the interval had not passed. */
  update_pending: number;
}

const ALERT_COLUMNS = `id, rule, severity, status, revocation_id, agent_id, pipeline_id, layers_enforcing, layers_leaking,
  violation_count, first_violation_at, last_violation_at, sample_event_ids, created_at, updated_at, status_changed_at, reopened`;
const STORED_COLUMNS = `${ALERT_COLUMNS}, notified_at, update_pending`;

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
 * overwriting the other's change. In embedded mode detection runs in the ingest thread and
 * analysts' changes in the route handlers (main thread) of the same process: the lock spans
 * both threads (lib/threads/lock.ts). In server mode a web process and the worker can still
 * race within a few ms.
 */
function withAlertLock<T>(fn: () => Promise<T>): Promise<T> {
  return withThreadsLock("alertWrite", fn);
}

export interface AlertStoreOptions {
  /**
   * Detection updates that only change counts, samples or layers are announced (a history row,
   * the webhook outbox) at most once per this many ms per alert, with the latest figures;
   * creation, severity and status changes, re-opening and withdrawal go out at once.
   * 0: every change is announced (the default for analysts' writes and tests).
   */
  updateIntervalMs?: number;
  /** Milliseconds since the epoch; tests pass a clock they move themselves. */
  clock?: () => number;
}

export class AlertStore {
  private readonly updateIntervalMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly client: ClickHouseClient,
    options: AlertStoreOptions = {},
  ) {
    this.updateIntervalMs = options.updateIntervalMs ?? 0;
    this.clock = options.clock ?? Date.now;
  }

  private now(): string {
    return new Date(this.clock()).toISOString();
  }

  /**
   * The current alerts of the given revocations. Detection asks on every batch, so the latest
   * version per alert is picked with LIMIT BY rather than FINAL, which would merge every part
   * of the table (alerts are keyed by id, not by revocation); deleted ones are dropped after.
   */
  private async storedByRevocations(revocationIds: string[]): Promise<StoredAlert[]> {
    const rows = await queryRows<StoredAlert & { is_deleted: number }>(
      this.client,
      "alerts:byRevocations",
      `SELECT ${STORED_COLUMNS}, is_deleted FROM alerts WHERE revocation_id IN {revs:Array(String)}
       ORDER BY version DESC LIMIT 1 BY id`,
      { revs: revocationIds },
    );
    return rows.filter((r) => Number(r.is_deleted) === 0).map(({ is_deleted: _d, ...alert }) => alert);
  }

  /**
   * The current row of each of these alerts (deleted ones left out) with its version. A change
   * writes its history row and then its alert row with one version (write()), so an alert row
   * whose version is below a change's seq is from before that change: the webhook fan-out
   * waits for the newer one rather than send the change with the old figures.
   */
  async currentWithVersions(ids: string[]): Promise<Map<string, { alert: Alert; version: number }>> {
    if (ids.length === 0) return new Map();
    const rows = await queryRows<Alert & { version: number | string }>(
      this.client,
      "alerts:current",
      `SELECT ${ALERT_COLUMNS}, version FROM alerts FINAL WHERE id IN {ids:Array(String)}`,
      { ids },
    );
    return new Map(rows.map(({ version, ...alert }) => [alert.id, { alert, version: Number(version) }]));
  }

  /**
   * The status changes (raised, reopened, acknowledged, resolved, withdrawn) of these alerts,
   * oldest first, by primary key: what the webhook fan-out reads to tell whether a status
   * change took effect (lib/webhooks/dispatcher/fanout.ts, tookEffect).
   */
  async statusChanges(ids: string[]): Promise<AlertHistoryEntry[]> {
    if (ids.length === 0) return [];
    return queryRows<AlertHistoryEntry>(
      this.client,
      "alerts:statusChanges",
      `SELECT alert_id, at, seq, kind, from_status, to_status, actor, comment, violation_count
       FROM alert_history WHERE alert_id IN {ids:Array(String)} AND kind != 'updated' ORDER BY alert_id, at, seq`,
      { ids },
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
   * Brings the stored alerts of each revocation in line with what detection derived for it:
   * new ones are raised (open), changed ones updated in place, and an acknowledged or resolved
   * alert that got new violations since its status change goes back to open. Alerts no longer
   * derived (a late reinstatement closed the window) are withdrawn. Accepts one revocation
   * (id and list) or many (a map), reconciled together in one read and one write.
   */
  reconcile(revocationId: string, derived: DerivedAlert[]): Promise<AlertHistoryEntry[]>;
  reconcile(derived: Map<string, DerivedAlert[]>): Promise<AlertHistoryEntry[]>;
  reconcile(a: string | Map<string, DerivedAlert[]>, b?: DerivedAlert[]): Promise<AlertHistoryEntry[]> {
    const derived = typeof a === "string" ? new Map([[a, b ?? []]]) : a;
    return this.reconcileDerived([...derived.keys()], async () => derived);
  }

  /**
   * reconcile() for alerts that are still being derived: `derive` runs under the alert lock,
   * beside the read of the stored alerts of `revocationIds` (on a session pool both run at
   * once, lib/store/session-pool.ts). Revocations missing from its result are left alone.
   */
  reconcileDerived(revocationIds: string[], derive: () => Promise<Map<string, DerivedAlert[]>>): Promise<AlertHistoryEntry[]> {
    if (revocationIds.length === 0) return Promise.resolve([]);
    return withAlertLock(async () => {
      const [stored, derived] = await Promise.all([this.storedByRevocations(revocationIds), derive()]);
      return this.reconcileLocked(stored, derived);
    });
  }

  private async reconcileLocked(stored: StoredAlert[], derived: Map<string, DerivedAlert[]>): Promise<AlertHistoryEntry[]> {
    if (derived.size === 0) return [];
    const existing = new Map(stored.map((a) => [a.id, a]));
    const now = this.now();
    const nowMs = Date.parse(now);
    const rows: (AlertRow & Partial<StoredAlert>)[] = [];
    const history: AlertHistoryEntry[] = [];
    const record = (alert: Alert, kind: AlertChangeKind, from: string, deleted = 0) => {
      const version = nextVersion();
      rows.push({ ...alert, version, is_deleted: deleted, notified_at: now, update_pending: 0 });
      history.push({ alert_id: alert.id, at: now, seq: version, kind, from_status: from, to_status: alert.status, actor: "detection", comment: "", violation_count: alert.violation_count });
    };
    for (const list of derived.values()) {
      for (const d of list) {
        const old = existing.get(d.id);
        existing.delete(d.id);
        if (!old) {
          record({ ...d, status: "open", created_at: now, updated_at: now, status_changed_at: now, reopened: false }, "raised", "");
          continue;
        }
        if (!contentChanged(old, d)) continue;
        const { notified_at: notifiedAt, update_pending: _pending, ...plain } = old;
        const newViolations = d.violation_count > old.violation_count || d.last_violation_at > old.last_violation_at;
        if (old.status !== "open" && newViolations) {
          record({ ...plain, ...d, status: "open", updated_at: now, status_changed_at: now, reopened: true }, "reopened", old.status);
        } else if (d.severity !== old.severity || nowMs - Date.parse(notifiedAt) >= this.updateIntervalMs) {
          record({ ...plain, ...d, updated_at: now }, "updated", old.status);
        } else {
          // Announced recently: keep the row current for readers, owe the notification.
          rows.push({ ...plain, ...d, updated_at: now, version: nextVersion(), is_deleted: 0, notified_at: notifiedAt, update_pending: 1 });
        }
      }
    }
    for (const gone of existing.values()) {
      if (!derived.has(gone.revocation_id)) continue;
      const { notified_at: _n, update_pending: _p, ...plain } = gone;
      record({ ...plain, updated_at: now }, "withdrawn", gone.status, 1);
    }
    await this.write(rows, history);
    return history;
  }

  /**
   * Announces the updates owed for longer than the interval, each once, with the alert's
   * latest figures (the alert row already holds them). Called periodically by detection.
   */
  flushOwedUpdates(): Promise<AlertHistoryEntry[]> {
    return withAlertLock(async () => {
      const now = this.now();
      // The latest version of each alert that ever had an update owed, by primary key (alerts
      // are ordered by id) rather than FINAL over the whole table; owed and due ones are kept.
      const dueBy = new Date(Date.parse(now) - this.updateIntervalMs).toISOString();
      const latest = await queryRows<StoredAlert & { is_deleted: number }>(
        this.client,
        "alerts:owedUpdates",
        `SELECT ${STORED_COLUMNS}, is_deleted FROM alerts WHERE id IN (SELECT id FROM alerts WHERE update_pending = 1)
         ORDER BY version DESC LIMIT 1 BY id`,
      );
      const due = latest
        .filter((a) => Number(a.update_pending) === 1 && Number(a.is_deleted) === 0 && Date.parse(a.notified_at) <= Date.parse(dueBy))
        .map(({ is_deleted: _d, ...alert }) => alert);
      const rows: (AlertRow & Partial<StoredAlert>)[] = [];
      const history: AlertHistoryEntry[] = [];
      for (const a of due) {
        const version = nextVersion();
        rows.push({ ...a, version, is_deleted: 0, notified_at: now, update_pending: 0 });
        history.push({ alert_id: a.id, at: now, seq: version, kind: "updated", from_status: a.status, to_status: a.status, actor: "detection", comment: "", violation_count: a.violation_count });
      }
      await this.write(rows, history);
      return history;
    });
  }

  /** An analyst acknowledges or resolves (or re-opens) an alert. Returns null if it does not exist. */
  setStatus(id: string, status: AlertStatus, actor: string, comment = ""): Promise<Alert | null> {
    return withAlertLock(() => this.setStatusLocked(id, status, actor, comment));
  }

  private async setStatusLocked(id: string, status: AlertStatus, actor: string, comment: string): Promise<Alert | null> {
    const old = await this.get(id);
    if (!old) return null;
    // The status it has already (a double click, a client's retry): nothing changes, and
    // nothing is announced again.
    if (old.status === status) return old;
    const now = this.now();
    const next: Alert = { ...old, status, updated_at: now, status_changed_at: now };
    const version = nextVersion();
    const kind: AlertChangeKind = status === "open" ? "reopened" : status;
    // The status change carries the latest counts: any owed update is settled by it.
    await this.write(
      [{ ...next, version, is_deleted: 0, notified_at: now, update_pending: 0 } as AlertRow],
      [{ alert_id: id, at: now, seq: version, kind, from_status: old.status, to_status: status, actor, comment, violation_count: old.violation_count }],
    );
    return next;
  }

  private async write(rows: AlertRow[], history: AlertHistoryEntry[]): Promise<void> {
    if (rows.length === 0) return;
    // History first: if the process dies between the two inserts, re-evaluation rewrites
    // the alert row, and the webhook outbox already holds the change.
    if (history.length) {
      await insertRows(this.client, "alert_history", history, { comment: "alerts:history" });
    }
    await insertRows(this.client, "alerts", rows, { comment: "alerts:write" });
  }
}
