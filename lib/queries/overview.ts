/** The overview page's numbers: what matters now, over a time range. */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows, timeBound } from "../store/clickhouse";
import { allRevocations } from "./revocations";
import { listAlerts } from "./alerts";

export async function overview(client: ClickHouseClient, from: string, to: string) {
  const spanMs = Date.parse(to) - Date.parse(from);
  // About 60 buckets over the range, at least one second each.
  const bucketSeconds = Math.max(1, Math.round(spanMs / 60_000));
  const params = { from, to, bucket: bucketSeconds };
  const [agents, series, alertCounts, deadLetters, revocations, newest, layerRows] = await Promise.all([
    queryRows<{ active: number }>(
      client,
      "api:overview:agents",
      `SELECT count() AS active FROM (SELECT agent_id, max(last_seen) AS ls FROM agent_summary GROUP BY agent_id)
       WHERE ls >= ${timeBound("from")} AND ls <= ${timeBound("to")}`,
      params,
    ),
    queryRows<{ bucket: string; violations: number; blocked: number }>(
      client,
      "api:overview:series",
      `SELECT toStartOfInterval(time, toIntervalSecond({bucket:UInt32})) AS bucket,
              countIf(violation) AS violations, countIf(NOT violation) AS blocked
       FROM post_revocation_actions FINAL WHERE time >= ${timeBound("from")} AND time <= ${timeBound("to")}
       GROUP BY bucket ORDER BY bucket`,
      params,
    ),
    queryRows<{ status: string; severity: string; n: number }>(
      client,
      "api:overview:alerts",
      `SELECT status, severity, count() AS n FROM alerts FINAL GROUP BY status, severity`,
    ),
    queryRows<{ n: number; last: string | null }>(
      client,
      "api:overview:deadLetters",
      `SELECT count() AS n, if(count() = 0, NULL, max(received_at)) AS last FROM dead_letters FINAL`,
    ),
    allRevocations(client, { from, to }),
    listAlerts(client, {}, undefined, 8),
    queryRows<{ layer: string; violations: number; blocked: number }>(
      client,
      "api:overview:layers",
      `SELECT layer, countIf(violation) AS violations, countIf(NOT violation) AS blocked
       FROM post_revocation_actions FINAL WHERE time >= ${timeBound("from")} AND time <= ${timeBound("to")}
       GROUP BY layer ORDER BY violations DESC, layer`,
      params,
    ),
  ]);
  const containment = { contained: 0, partial: 0, uncontained: 0 };
  const delays = new Map<string, number[]>();
  for (const r of revocations) {
    containment[r.containment]++;
    for (const [layer, ms] of Object.entries(r.propagation_ms)) delays.set(layer, [...(delays.get(layer) ?? []), Number(ms)]);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const openBySeverity = { high: 0, critical: 0 } as Record<string, number>;
  for (const a of alertCounts) if (a.status === "open") openBySeverity[a.severity] = (openBySeverity[a.severity] ?? 0) + Number(a.n);
  return {
    from,
    to,
    bucket_seconds: bucketSeconds,
    counts: {
      agents_active: Number(agents[0]?.active ?? 0),
      revocations: revocations.length,
      violations: series.reduce((n, s) => n + Number(s.violations), 0),
      blocked: series.reduce((n, s) => n + Number(s.blocked), 0),
      partial: containment.partial,
      uncontained: containment.uncontained,
      open_alerts: openBySeverity,
      dead_letters: Number(deadLetters[0]?.n ?? 0),
    },
    series: series.map((s) => ({ time: s.bucket, violations: Number(s.violations), blocked: Number(s.blocked) })),
    containment,
    leaking_layers: layerRows.map((l) => ({ layer: l.layer, violations: Number(l.violations), blocked: Number(l.blocked) })),
    propagation: [...delays.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([layer, xs]) => ({
      layer, median_ms: median(xs), max_ms: Math.max(...xs), revocations: xs.length,
    })),
    newest_alerts: newest.items,
    last_event_at: await lastEventAt(client),
  };
}

export async function lastEventAt(client: ClickHouseClient): Promise<string | null> {
  const rows = await queryRows<{ t: string | null }>(
    client,
    "api:lastEventAt",
    `SELECT if(count() = 0, NULL, max(last_seen)) AS t FROM agent_summary`,
  );
  return rows[0]?.t ?? null;
}

export async function deadLetterList(client: ClickHouseClient, limit: number) {
  const [count, items] = await Promise.all([
    queryRows<{ n: number }>(client, "api:deadLetters:count", `SELECT count() AS n FROM dead_letters FINAL`),
    // payload_bytes and payload_sha256 describe the whole original message; payload is its start.
    queryRows<{
      received_at: string; origin: string; topic: string; partition: number; offset: number; reason: string;
      payload: string; payload_bytes: number; payload_sha256: string;
    }>(
      client,
      "api:deadLetters",
      `SELECT received_at, origin, topic, partition, offset, reason, substring(payload, 1, 2000) AS payload, payload_bytes, payload_sha256
       FROM dead_letters FINAL ORDER BY received_at DESC LIMIT {limit:UInt32}`,
      { limit },
    ),
  ]);
  return { count: Number(count[0]?.n ?? 0), items };
}
