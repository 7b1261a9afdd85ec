/**
 * Stored means durable: every MergeTree table of the database fsyncs a part's files and its
 * directory before an insert returns. The engine's defaults (fsync_after_insert = 0,
 * fsync_part_directory = 0) leave a fresh part in the page cache, so a power loss after the
 * consumer committed its Kafka offsets could lose events that Kafka will never resend.
 *
 * Applied after the migrations to every MergeTree-family table that lacks the settings, so
 * tables added by later migrations are covered too. The settings belong to the table, so
 * they hold in server mode as well (README.md, "Durability").
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { logger } from "../log";

export const DURABLE_SETTINGS = "fsync_after_insert = 1, fsync_part_directory = 1";

export async function ensureDurableTables(client: ClickHouseClient): Promise<string[]> {
  const rs = await client.query({
    query: `SELECT name FROM system.tables
            WHERE database = currentDatabase() AND engine LIKE '%MergeTree' AND NOT is_temporary
              AND (position(create_table_query, 'fsync_after_insert = 1') = 0
                   OR position(create_table_query, 'fsync_part_directory = 1') = 0)
            ORDER BY name`,
    format: "JSONEachRow",
  });
  const names = (await rs.json<{ name: string }>()).map((r) => r.name);
  for (const name of names) {
    // Table names come from system.tables, never from input; quoted as identifiers anyway.
    await client.command({
      query: `ALTER TABLE \`${name.replaceAll("`", "\\`")}\` MODIFY SETTING ${DURABLE_SETTINGS}`,
      clickhouse_settings: { log_comment: "migration:durability" },
    });
  }
  if (names.length) logger().info({ tables: names.length }, "tables set to fsync on insert");
  return names;
}
