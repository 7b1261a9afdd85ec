/**
 * The dispatcher's own ClickHouse session. In embedded mode one chdb session runs one
 * query at a time (README.md, "Process model"), and the shared ones are busy: `writer` with ingest and
 * detection, `reader` with API pages. A webhook queued behind a 700 ms query would miss
 * the 1.5 s latency target, so the dispatcher gets a third session on the same data
 * directory (sessions on one path run in parallel). Server mode shares the pooled client.
 */
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import type { Config } from "../config";
import type { Store } from "../store/clickhouse";

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

export function dispatcherClient(s: Store, cfg: Config): { client: ClickHouseClient; close: () => Promise<void> } {
  if (s.mode !== "embedded") return { client: s.writer, close: async () => {} };
  const client = createClient({
    // Same cast and output settings as lib/store/clickhouse.ts (times as ISO-8601 UTC).
    connection: createChdbConnection({ path: cfg.chdbPath }) as unknown as ClientConnection,
    clickhouse_settings: { date_time_output_format: "iso", date_time_input_format: "best_effort", output_format_json_quote_64bit_integers: 0 },
  });
  return { client, close: () => client.close() };
}
