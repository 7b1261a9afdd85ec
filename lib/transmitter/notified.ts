/**
 * Which enforcement points were told about a revocation and when they acknowledged: per SSF
 * stream, the SETs the revocation caused (their `txn`), how many the receiver took (push
 * answered 2xx, poll acknowledged), and when the first was recorded and the last taken.
 * A receiver registered with its layer is marked when that layer kept letting the revocation's
 * credentials through after it acknowledged (a violation there with a later event time): it
 * heard and still did not stop, the case to chase first.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "../store/clickhouse";

export interface StreamNotification {
  stream_id: string;
  aud: string;
  layer: string;
  delivery_method: string;
  sets: number;
  acknowledged: number;
  pending: number;
  failed: number;
  /** When the first SET for the revocation was recorded for this stream. */
  told_at: string;
  /** When the receiver took the last SET it took; null until it took one. */
  acknowledged_at: string | null;
  /** The latest violation at the receiver's layer, if any. */
  last_violation_at: string | null;
  leaking_after_ack: boolean;
}

export async function notificationsOf(client: ClickHouseClient, revocationId: string): Promise<StreamNotification[]> {
  const rows = await queryRows<Omit<StreamNotification, "last_violation_at" | "leaking_after_ack">>(
    client,
    "ssf:notified",
    `SELECT s.stream_id AS stream_id, any(st.aud) AS aud, any(st.layer) AS layer, any(st.delivery_method) AS delivery_method,
            toUInt32(count()) AS sets,
            toUInt32(countIf(s.state IN ('delivered', 'acked'))) AS acknowledged,
            toUInt32(countIf(s.state = 'pending')) AS pending,
            toUInt32(countIf(s.state = 'failed')) AS failed,
            min(s.created_at) AS told_at,
            maxIf(s.delivered_at, s.state IN ('delivered', 'acked')) AS acknowledged_at
     FROM (SELECT * FROM transmitter_sets FINAL WHERE txn = {txn:String}) AS s
     LEFT JOIN (SELECT stream_id, aud, layer, delivery_method FROM transmitter_streams FINAL) AS st ON st.stream_id = s.stream_id
     GROUP BY s.stream_id
     ORDER BY told_at, stream_id`,
    { txn: revocationId },
  );
  const layers = [...new Set(rows.map((r) => r.layer).filter(Boolean))];
  const last = new Map(
    layers.length
      ? (
          await queryRows<{ layer: string; at: string }>(
            client,
            "ssf:notified:leaking",
            `SELECT layer, max(time) AS at FROM post_revocation_actions FINAL
             WHERE revocation_id = {txn:String} AND violation AND layer IN {layers:Array(String)} GROUP BY layer`,
            { txn: revocationId, layers },
          )
        ).map((r) => [r.layer, r.at])
      : [],
  );
  return rows
    .map((r) => {
      const acknowledgedAt = Number(r.acknowledged) > 0 ? r.acknowledged_at : null;
      const lastViolation = last.get(r.layer) ?? null;
      return {
        ...r,
        sets: Number(r.sets),
        acknowledged: Number(r.acknowledged),
        pending: Number(r.pending),
        failed: Number(r.failed),
        acknowledged_at: acknowledgedAt,
        last_violation_at: lastViolation,
        // Event time against Revenant's clock at the acknowledgement: both UTC wall clocks.
        leaking_after_ack: !!acknowledgedAt && !!lastViolation && Date.parse(lastViolation) > Date.parse(acknowledgedAt),
      };
    })
    .sort((a, b) => Number(b.leaking_after_ack) - Number(a.leaking_after_ack));
}
