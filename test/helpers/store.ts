/**
 * Embedded stores for integration tests that need ClickHouse but not the whole stack
 * (test/helpers/stack.ts): each in a fresh temporary directory, so tests never share one.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "@/lib/config";
import { createStore, type Store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";

/** A store of its own, its directory named after `name`; `settings` override the configuration. */
export function temporaryStore(name: string, settings: Record<string, string> = {}): Store {
  return createStore(parseConfig({ REVENANT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), `revenant-${name}-`)), ...settings }));
}

/** The same with every migration applied: Revenant's tables, empty. */
export async function migratedStore(name: string, settings: Record<string, string> = {}): Promise<Store> {
  const s = temporaryStore(name, settings);
  await migrate(s.writer);
  return s;
}
