/**
 * Publishing a revocation's results: its summary (revocation_status, which the API reads) and
 * its alerts, both derived from its counters in the generation readers use. Costs per touched
 * revocation and per (agent, via, layer), never per pair.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { AlertHistoryEntry, AlertStore } from "../alerts/store";
import { insertRows } from "../store/clickhouse";
import { deriveFromCounters, readCounters } from "./counters";
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
 * `version` is the summaries' row version, taken by the caller before the states were read
 * (lib/detection/publisher.ts). The summary is written last: a summary newer than the counters
 * then means everything, alerts included, was published.
 */
export async function publish(client: ClickHouseClient, alerts: AlertStore, states: RevocationState[], version: number): Promise<AlertHistoryEntry[]> {
  const generations = new Map<string, number>();
  for (const s of states) {
    const g = readGeneration(s);
    if (g !== null) generations.set(s.revocation_id, g);
  }
  if (generations.size === 0) return [];
  const counters = await readCounters(client, generations);
  const summaries: object[] = [];
  const derived = new Map<string, DerivedAlert[]>();
  const evaluatedAt = new Date().toISOString();
  for (const s of states) {
    if (!generations.has(s.revocation_id)) continue;
    const result = deriveFromCounters(infoOf(s), counters.get(s.revocation_id) ?? []);
    summaries.push({ ...result.summary, version, agents: result.agents, pipelines: result.pipelines, evaluated_at: evaluatedAt });
    derived.set(s.revocation_id, result.alerts);
  }
  const changes = await alerts.reconcile(derived);
  await insertRows(client, "revocation_status", summaries, { comment: "detection:summary", skipUnknownFields: true });
  return changes;
}
