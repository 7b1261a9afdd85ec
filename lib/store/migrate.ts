/**
 * Schema migrations: numbered .sql files in lib/store/migrations, applied in order,
 * each recorded in schema_migrations so it runs once.
 *
 * Two processes starting together (server mode) are safe without a lock because every
 * statement is idempotent (CREATE … IF NOT EXISTS, ADD COLUMN IF NOT EXISTS): both may
 * run a migration, both converge on the same schema, and the ledger is a
 * ReplacingMergeTree keyed by the migration's name, so it records it once.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { logger } from "../log";
import { ensureDurableTables } from "./durability";

export function migrationsDir(): string {
  return process.env.REVENANT_MIGRATIONS_DIR ?? path.join(process.cwd(), "lib", "store", "migrations");
}

export interface Migration {
  name: string;
  statements: string[];
}

/** Splits a file into statements on semicolons that end a line; comments are dropped. */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n");
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ name: f.replace(/\.sql$/, ""), statements: splitStatements(readFileSync(path.join(dir, f), "utf8")) }));
}

export async function migrate(client: ClickHouseClient, dir = migrationsDir()): Promise<string[]> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
            ENGINE = ReplacingMergeTree ORDER BY name`,
  });
  const rs = await client.query({ query: "SELECT name FROM schema_migrations FINAL", format: "JSONEachRow" });
  const done = new Set((await rs.json<{ name: string }>()).map((r) => r.name));
  const applied: string[] = [];
  for (const m of loadMigrations(dir)) {
    if (done.has(m.name)) continue;
    for (const statement of m.statements) {
      await client.command({ query: statement, clickhouse_settings: { log_comment: `migration:${m.name}` } });
    }
    await client.insert({ table: "schema_migrations", values: [{ name: m.name }], format: "JSONEachRow" });
    applied.push(m.name);
    logger().info({ migration: m.name }, "migration applied");
  }
  await ensureDurableTables(client);
  return applied;
}
