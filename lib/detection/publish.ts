/**
 * Publishing a revocation's results: its summary (revocation_status, which the API reads) and
 * its alerts, both derived from its counters in the generation readers use. Costs per touched
 * revocation and per (agent, via, layer), never per pair.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { AlertHistoryEntry, AlertStore } from "../alerts/store";
import { insertRows } from "../store/clickhouse";
import { deriveFromCounters, readCounters, type CounterRow } from "./counters";
import { readGeneration, type RevocationState } from "./state";
import type { DerivedAlert, RevocationInfo } from "./types";

export function infoOf(s: RevocationState): RevocationInfo {
  return {
    event_id: s.revocation_id,
    time: s.revoked_at,
    scope: s.scope,
    subject: s.subject,
    cascade: s.cascade,
    reason: s.reason,
    initiated_by: s.initiated_by,
    reinstated_at: s.reinstated_at,
  };
}

/**
 * Reconciles alerts and writes summaries of the given revocations; returns the alert changes.
 * `states` gives their states, already known (a derivation's commit) or read now: the states,
 * the counters and the stored alerts are then read side by side (the publisher's session is a
 * pool, lib/store/clickhouse.ts). `version` is the summaries' row version, taken by the caller
 * before anything was read (lib/detection/publisher.ts). The summary is written last: a
 * summary newer than the counters then means everything, alerts included, was published.
 */
export async function publish(
  client: ClickHouseClient,
  alerts: AlertStore,
  revocationIds: string[],
  states: () => Promise<RevocationState[]>,
  version: number,
): Promise<AlertHistoryEntry[]> {
  const summaries: object[] = [];
  const changes = await alerts.reconcileDerived(revocationIds, async () => {
    const [known, counters] = await Promise.all([states(), readCounters(client, revocationIds)]);
    const rowsOf = new Map<string, CounterRow[]>();
    for (const r of counters) {
      const key = `${r.revocation_id}\u0000${r.generation}`;
      const list = rowsOf.get(key);
      if (list) list.push(r);
      else rowsOf.set(key, [r]);
    }
    const derived = new Map<string, DerivedAlert[]>();
    const evaluatedAt = new Date().toISOString();
    for (const s of known) {
      // A revocation whose new generation is still being derived keeps what it published.
      const generation = readGeneration(s);
      if (generation === null) continue;
      const result = deriveFromCounters(infoOf(s), rowsOf.get(`${s.revocation_id}\u0000${generation}`) ?? []);
      summaries.push({ ...result.summary, version, agents: result.agents, pipelines: result.pipelines, evaluated_at: evaluatedAt });
      derived.set(s.revocation_id, result.alerts);
    }
    return derived;
  });
  if (summaries.length) await insertRows(client, "revocation_status", summaries, { comment: "detection:summary", skipUnknownFields: true });
  return changes;
}
