/**
 * The original OTLP export a tool call came in (otlp_exports, lib/store/migrations/030_otlp_spans.sql),
 * for investigators: as received, and decoded into OTLP/JSON whatever its encoding.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows } from "../store/clickhouse";
import { decodeOtlp, encodeOtlp, type OtlpEncoding } from "./codec";

export interface KeptExport {
  export_id: string;
  received_at: string;
  encoding: OtlpEncoding;
  /** As received: the JSON text, or the protobuf bytes in base64. */
  original: string;
  /** The request in OTLP/JSON (hex trace and span ids), decoded from the original. */
  request: unknown;
}

export async function keptExport(client: ClickHouseClient, exportId: string): Promise<KeptExport | null> {
  const [row] = await queryRows<{ export_id: string; received_at: string; encoding: OtlpEncoding; payload: string }>(
    client,
    "api:otlpExport",
    "SELECT export_id, received_at, encoding, payload FROM otlp_exports FINAL WHERE export_id = {id:String} LIMIT 1",
    { id: exportId },
  );
  if (!row) return null;
  const bytes = row.encoding === "otlp_json" ? Buffer.from(row.payload, "utf8") : Buffer.from(row.payload, "base64");
  const request = JSON.parse(Buffer.from(encodeOtlp(decodeOtlp(bytes, row.encoding), "otlp_json")).toString("utf8"));
  return { export_id: row.export_id, received_at: row.received_at, encoding: row.encoding, original: row.payload, request };
}
