/**
 * The SETs kept by the SSF receiver (ssf_sets), read back as the source of the revocation
 * each one produced.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "../store/clickhouse";

export interface SetSource {
  kind: "ssf";
  stream_id: string;
  stream_name: string;
  jti: string;
  iss: string;
  event_type: string;
  delivery: string;
  received_at: string;
  /** The decoded claims, as verified. */
  claims: Record<string, unknown>;
  /** The token exactly as received. */
  raw: string;
}

export async function setSourceOf(client: ClickHouseClient, revocationId: string): Promise<SetSource | null> {
  const rows = await queryRows<Omit<SetSource, "kind" | "claims"> & { claims: string }>(client, "ssf:source",
    `SELECT s.stream_id AS stream_id, st.name AS stream_name, s.jti AS jti, s.iss AS iss, s.event_type AS event_type,
            s.delivery AS delivery, s.received_at AS received_at, s.claims AS claims, s.raw AS raw
     FROM (SELECT * FROM ssf_sets FINAL WHERE revocation_event_id = {id:String}) AS s
     LEFT JOIN (SELECT id, name FROM ssf_streams FINAL) AS st ON st.id = s.stream_id
     ORDER BY s.received_at LIMIT 1`, { id: revocationId });
  const r = rows[0];
  return r ? { kind: "ssf", ...r, claims: JSON.parse(r.claims) } : null;
}
