import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "@/lib/config";
import { createStore, queryRows, type Store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { validateEvent } from "@/lib/events/schema";
import { EventWriter, type EventRow } from "@/ingest/event-writer";

/** The TSV hot path must store every field exactly as decoded, whatever characters it holds. */
describe("EventWriter", () => {
  let s: Store;
  beforeAll(async () => {
    s = createStore(parseConfig({ REVENANT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "revenant-writer-")) }));
    await migrate(s.writer);
  });
  afterAll(async () => s.close());

  it("round-trips awkward strings, maps, nulls and booleans", async () => {
    const nasty = "tab\there, newline\nthere, cr\r, back\\slash, quote' and \"double\", unicode ✓ 🧟, \\N literal";
    const r = validateEvent({
      event_id: "w-1", type: "credential_issued", time: "2026-05-01T10:00:00.001+01:00", agent_id: nasty, pipeline_id: "p",
      credential: { id: "c\t1", parent_id: "c'0", kind: "api_key", expires_at: 1777629600000 },
      attributes: { "k'ey\\": nasty, n: 3, b: true }, custom_top_level: { a: [1, 2] },
    });
    const r2 = validateEvent({ event_id: "w-2", type: "revocation", time: 0, revocation: { scope: "agent", subject: "x\\y", cascade: false } });
    if (!r.ok || !r2.ok) throw new Error("fixture invalid");
    const rows: EventRow[] = [
      { ...r.event, kafka_partition: 2, kafka_offset: "41" },
      { ...r2.event, kafka_partition: 0, kafka_offset: "1" },
    ];
    expect(await new EventWriter(s.writer).write(rows)).toEqual([]);
    const stored = await queryRows<Record<string, unknown>>(s.reader, "test",
      `SELECT * EXCEPT (ingested_at) FROM events FINAL ORDER BY event_id`);
    expect(stored).toEqual(rows.map((e) => ({ ...e, kafka_offset: Number(e.kafka_offset) })));
  });

  it("waits out an unavailable ClickHouse and stores the batch once it is back", async () => {
    let failuresLeft = 3;
    // The real client, except that its first three inserts fail as if the server were down.
    const flaky = new Proxy(s.writer, {
      get(target, prop, receiver) {
        if (prop === "insert") {
          return async (...args: Parameters<typeof target.insert>) => {
            if (failuresLeft-- > 0) throw new Error("connect ECONNREFUSED 127.0.0.1:8123");
            return target.insert(...args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const retries: number[] = [];
    const writer = new EventWriter(flaky, async (attempt) => void retries.push(attempt));
    const rows = Array.from({ length: 50 }, (_, i) => {
      const r = validateEvent({ event_id: `outage-${i}`, type: "action", time: 1_700_000_000_000 + i, agent_id: "a", layer: "tool", action: "x" });
      if (!r.ok) throw new Error(r.reason);
      return { ...r.event, kafka_partition: 0, kafka_offset: String(i) };
    });
    expect(await writer.write(rows)).toEqual([]);
    expect(retries).toEqual([1, 2, 3]);
    const [{ n }] = await queryRows<{ n: number }>(s.reader, "test", "SELECT count() AS n FROM events FINAL WHERE event_id LIKE 'outage-%'");
    expect(Number(n)).toBe(50);
  });

  it("isolates a row ClickHouse refuses and stores its neighbours", async () => {
    const rows = Array.from({ length: 9 }, (_, i) => {
      const r = validateEvent({ event_id: `split-${i}`, type: "action", time: 1_700_000_000_000 + i, agent_id: "a", layer: "tool", action: "x" });
      if (!r.ok) throw new Error(r.reason);
      return { ...r.event, kafka_partition: 0, kafka_offset: String(i) };
    });
    // A value no Int64 column accepts stands in for a row the engine cannot parse.
    (rows[6] as unknown as { kafka_offset: string }).kafka_offset = "not-a-number";
    const rejected = await new EventWriter(s.writer).write(rows);
    expect(rejected.map((r) => r.row.event_id)).toEqual(["split-6"]);
    expect(rejected[0].reason).toMatch(/^clickhouse rejected the row/);
    const [{ n }] = await queryRows<{ n: number }>(s.reader, "test", "SELECT count() AS n FROM events FINAL WHERE event_id LIKE 'split-%'");
    expect(Number(n)).toBe(8);
  });
});
