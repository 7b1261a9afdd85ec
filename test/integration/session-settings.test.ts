import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "@/lib/config";
import { createStore, queryRows, type Store } from "@/lib/store/clickhouse";

/**
 * A session sends only the settings it has not applied yet (lib/store/session-pool.ts,
 * SettingsOnce): every call must still run with the settings it gives, whatever the calls
 * before it on that session gave, failed or ran at the same time.
 */
describe("settings of calls on one session", () => {
  let s: Store;
  beforeAll(() => {
    s = createStore(parseConfig({ REVENANT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "revenant-settings-")) }));
  });
  afterAll(async () => s.close());

  // The writer is one session: every call below runs on the same one.
  const threads = async (maxThreads: number) =>
    (await queryRows<{ v: string }>(s.writer, "test", "SELECT toString(getSetting('max_threads')) AS v", {}, { max_threads: maxThreads }))[0].v;

  it("runs each call with its own value, repeated or changed", async () => {
    expect([await threads(3), await threads(3), await threads(1), await threads(3)]).toEqual(["3", "3", "1", "3"]);
  });

  it("runs calls made at the same time each with its own value", async () => {
    expect(await Promise.all([threads(3), threads(1), threads(3), threads(2), threads(2)])).toEqual(["3", "1", "3", "2", "2"]);
  });

  it("after a failed call, runs the next with its own value whatever the failed one set", async () => {
    expect(await threads(3)).toBe("3");
    await expect(queryRows(s.writer, "test", "SELECT throwIf(1)", {}, { max_threads: 5 })).rejects.toThrow();
    expect(await threads(3)).toBe("3");
  });

  it("keeps the output format the client asks for on every call", async () => {
    const time = async () => (await queryRows<{ t: string }>(s.reader, "test", "SELECT toDateTime64('2026-01-01 00:00:00', 3, 'UTC') AS t"))[0].t;
    expect([await time(), await time(), await time(), await time()]).toEqual(Array(4).fill("2026-01-01T00:00:00.000Z"));
  });
});
