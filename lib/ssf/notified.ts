/**
 * Which enforcement points were told about a revocation and when they acknowledged: per SSF
 * stream, the SETs the revocation caused (their `txn`), how many the receiver took (push
 * answered 2xx, poll acknowledged), and when the first was recorded and the last taken.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "../store/clickhouse";

export interface StreamNotification {
  stream_id: string;
  aud: string;
  delivery_method: string;
  sets: number;
  acknowledged: number;
  pending: number;
  failed: number;
  /** When the first SET for the revocation was recorded for this stream. */
  told_at: string;
  /** When the receiver took the last SET it took; null until it took one. */
  acknowledged_at: string | null;
}

export async function notificationsOf(client: ClickHouseClient, revocationId: string): Promise<StreamNotification[]> {
  const rows = await queryRows<StreamNotification>(
    client,
    "ssf:notified",
    `SELECT s.stream_id AS stream_id, any(st.aud) AS aud, any(st.delivery_method) AS delivery_method,
            toUInt32(count()) AS sets,
            toUInt32(countIf(s.state IN ('delivered', 'acked'))) AS acknowledged,
            toUInt32(countIf(s.state = 'pending')) AS pending,
            toUInt32(countIf(s.state = 'failed')) AS failed,
            min(s.created_at) AS told_at,
            maxIf(s.delivered_at, s.state IN ('delivered', 'acked')) AS acknowledged_at
     FROM (SELECT * FROM ssf_sets FINAL WHERE txn = {txn:String}) AS s
     LEFT JOIN (SELECT stream_id, aud, delivery_method FROM ssf_streams FINAL) AS st ON st.stream_id = s.stream_id
     GROUP BY s.stream_id
     ORDER BY told_at, stream_id`,
    { txn: revocationId },
  );
  return rows.map((r) => ({ ...r, sets: Number(r.sets), acknowledged: Number(r.acknowledged), pending: Number(r.pending), failed: Number(r.failed), acknowledged_at: r.acknowledged > 0 ? r.acknowledged_at : null }));
}
