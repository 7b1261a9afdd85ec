import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratedStore } from "../helpers/store";
import { apiRoute } from "@/lib/http/route";
import { queryRows, type Store } from "@/lib/store/clickhouse";

/**
 * The API reads through a client that cannot write and cannot be kept busy or flooded by
 * one query: the real engine enforces the limits, and the API turns them into errors that
 * say what to do instead of hanging or answering 500.
 */
describe("the API's reader", () => {
  let s: Store;
  beforeAll(async () => {
    s = await migratedStore("limits", { CLICKHOUSE_READ_TIMEOUT_S: "1", CLICKHOUSE_READ_MAX_ROWS: "50" });
    await s.writer.insert({ table: "events", values: [{ event_id: "kept", type: "action", time: "2026-01-01T00:00:00.000Z", agent_id: "a" }], format: "JSONEachRow" });
  });
  afterAll(async () => s.close());

  const route = (query: string) => apiRoute(null, async () => Response.json(await queryRows(s.reader, "test", query)));
  const call = async (query: string) => {
    const res = await route(query)(new Request("http://localhost/api/v1/test"));
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  };

  it("refuses writes and schema changes, and the writer's data stays", async () => {
    await expect(s.reader.insert({ table: "events", values: [{ event_id: "sneaked", type: "action", time: "2026-01-01T00:00:00.000Z", agent_id: "a" }], format: "JSONEachRow" }))
      .rejects.toMatchObject({ code: "164" });
    await expect(s.reader.command({ query: "DROP TABLE events" })).rejects.toMatchObject({ code: "164" });
    await expect(s.reader.command({ query: "CREATE TABLE sneaky (a UInt8) ENGINE = Memory" })).rejects.toMatchObject({ code: "164" });
    // Nor can a query lift its own limits.
    await expect(queryRows(s.reader, "test", "SELECT 1 SETTINGS readonly = 0")).rejects.toMatchObject({ code: "164" });
    const ids = await queryRows<{ event_id: string }>(s.reader, "test", "SELECT event_id FROM events FINAL");
    expect(ids).toEqual([{ event_id: "kept" }]);
  });

  it("refuses a result over the row cap with a clear API error, and answers one within it", async () => {
    await expect(queryRows(s.reader, "test", "SELECT number FROM numbers(51)")).rejects.toMatchObject({ code: "396" });
    const capped = await call("SELECT number FROM numbers(1000)");
    expect(capped.status).toBe(422);
    expect(capped.body.error).toMatchObject({ code: "result_too_large", message: expect.stringMatching(/more rows than the read limit/) });
    const ok = await call("SELECT number FROM numbers(50)");
    expect(ok.status).toBe(200);
  });

  it("stops a query that runs past the time limit with a clear API error instead of hanging", async () => {
    const heavy = "SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 1";
    await expect(queryRows(s.reader, "test", heavy)).rejects.toMatchObject({ code: "159" });
    const slow = await call(heavy);
    expect(slow.status).toBe(503);
    expect(slow.body.error).toMatchObject({ code: "query_timeout", message: expect.stringMatching(/took longer than the read time limit/) });
    // The reader is free again at once.
    expect(await queryRows(s.reader, "test", "SELECT 1 AS one")).toEqual([{ one: 1 }]);
  }, 30_000);
});
