import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { temporaryStore } from "../helpers/store";
import { queryRows, type Store } from "@/lib/store/clickhouse";

/**
 * A session sends only the settings it has not applied yet (lib/store/session-pool.ts,
 * SettingsOnce): every call must still run with the settings it gives, whatever the calls
 * before it on that session gave, failed or ran at the same time.
 */
describe("settings of calls on one session", () => {
  let s: Store;
  beforeAll(() => {
    s = temporaryStore("settings");
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

/**
 * The embedded engine starts with what no query can set (lib/store/clickhouse.ts,
 * engineArguments): the nice value its merge threads run at while they merge. (That the engine
 * then renices its MergeMutate threads was checked in /proc, docs/BENCHMARKS.md; a test would
 * have to catch a merge in the act.)
 */
describe("the embedded engine's start-up arguments", () => {
  const mergeNice = async (client: Store["writer"]) =>
    (await queryRows<{ v: string }>(client, "test", "SELECT value AS v FROM system.server_settings WHERE name = 'os_threads_nice_value_merge_mutate'"))[0].v;

  it("starts the engine with merges at nice 10 by default", async () => {
    const s = temporaryStore("engine-default");
    try {
      expect(await mergeNice(s.writer)).toBe("10");
    } finally {
      await s.close();
    }
  });

  it("starts it with CLICKHOUSE_MERGE_NICE, as every session of the store sees it", async () => {
    const s = temporaryStore("engine", { CLICKHOUSE_MERGE_NICE: "7" });
    try {
      expect([await mergeNice(s.writer), await mergeNice(s.reader), await mergeNice(s.scanner)]).toEqual(["7", "7", "7"]);
    } finally {
      await s.close();
    }
  });
});

/**
 * Query parameters are bound on the session as param_<name> settings (lib/store/session-pool.ts,
 * bindParameters), not by chdb's binder: every value must reach the query exactly as given,
 * whatever it contains, never as SQL, and a later call must never see an earlier call's value.
 */
describe("query parameters on embedded sessions", () => {
  let s: Store;
  beforeAll(() => {
    s = temporaryStore("params");
  });
  afterAll(async () => s.close());

  const hostile = ["a'b", "c\\d", "tab\there", "line\nbreak", "q\\'x", "\u0000nul", "é😀", "'; DROP TABLE events; --", "\\", "{x:String}", "$$", ""];

  it("passes strings and arrays of strings through exactly, quotes, backslashes and control characters included", async () => {
    for (const value of hostile) {
      const [row] = await queryRows<{ v: string }>(s.reader, "test", "SELECT {v:String} AS v", { v: value });
      expect(row.v).toBe(value);
    }
    const [row] = await queryRows<{ vs: string[]; n: number }>(s.reader, "test", "SELECT {vs:Array(String)} AS vs, length({vs:Array(String)}) AS n", { vs: hostile });
    expect(row.vs).toEqual(hostile);
    expect(Number(row.n)).toBe(hostile.length);
  });

  it("gives every call its own values, repeated, changed or at the same time on one session", async () => {
    const echo = (v: string, n: number) => queryRows<{ v: string; n: number }>(s.writer, "test", "SELECT {v:String} AS v, {n:UInt32} AS n", { v, n });
    const sequential = [];
    for (const [v, n] of [["one", 1], ["one", 1], ["two", 2], ["one", 3]] as const) sequential.push((await echo(v, n))[0]);
    expect(sequential.map((r) => [r.v, Number(r.n)])).toEqual([["one", 1], ["one", 1], ["two", 2], ["one", 3]]);
    const together = await Promise.all(["p", "q", "p", "r"].map((v, i) => echo(v, i)));
    expect(together.map(([r]) => [r.v, Number(r.n)])).toEqual([["p", 0], ["q", 1], ["p", 2], ["r", 3]]);
  });

  it("takes values larger than a query may be (a batch of ids)", async () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => `event-${i}-${"x".repeat(20)}`);
    const [row] = await queryRows<{ n: number; last: string }>(s.writer, "test", "SELECT length({ids:Array(String)}) AS n, {ids:Array(String)}[-1] AS last", { ids });
    expect(Number(row.n)).toBe(ids.length);
    expect(row.last).toBe(ids.at(-1));
  });
});

