import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "@/lib/config";
import { createClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { createStore, queryRows, type Store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { validateEvent } from "@/lib/events/schema";
import { EventWriter, type EventRow } from "@/ingest/event-writer";
import { receivedFrom } from "@/ingest/first-copies";

/** The TSV hot path must store every field exactly as decoded, whatever characters it holds. */
describe("EventWriter", () => {
  let s: Store;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "revenant-writer-"));
    s = createStore(parseConfig({ REVENANT_DATA_DIR: dataDir }));
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
    const r2 = validateEvent({ event_id: "w-2", type: "revocation", time: 946684800000, revocation: { scope: "agent", subject: "x\\y", cascade: false } });
    if (!r.ok || !r2.ok) throw new Error("fixture invalid");
    const rows: EventRow[] = [
      { ...r.event, kafka_partition: 2, kafka_offset: "41", kafka_topic: "t.events", content_hash: "ab01", submitted_by: "user:a\tb" },
      { ...r2.event, kafka_partition: 0, kafka_offset: "1" },
    ];
    expect(await new EventWriter(s.writer).write(rows)).toEqual([]);
    const stored = await queryRows<Record<string, unknown>>(s.reader, "test",
      `SELECT * EXCEPT (ingested_at) FROM events FINAL ORDER BY event_id`);
    // Provenance a row does not carry is stored as ''.
    expect(stored).toEqual(rows.map((e) => ({ kafka_topic: "", content_hash: "", submitted_by: "", ...e, kafka_offset: Number(e.kafka_offset) })));
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
    const retries: number[] = [];
    const rejected = await new EventWriter(s.writer, async (attempt) => void retries.push(attempt)).write(rows);
    expect(rejected.map((r) => r.row.event_id)).toEqual(["split-6"]);
    // ClickHouse's own code reaches the writer (the embedded engine's raw insert reports its
    // own error class): a parse error is the data's fault, split at once, never retried.
    expect(rejected[0].reason).toMatch(/^clickhouse rejected the row \(code \d+\): /);
    expect(retries).toEqual([]);
    const [{ n }] = await queryRows<{ n: number }>(s.reader, "test", "SELECT count() AS n FROM events FINAL WHERE event_id LIKE 'split-%'");
    expect(Number(n)).toBe(8);
  });
  describe("a copy of an event whose first copy ClickHouse refused", () => {
    /** An action at Kafka offset `offset`; "not-a-number" stands in for a row the engine cannot parse. */
    const copy = (id: string, offset: string, hash: string, action = "x"): EventRow => {
      const r = validateEvent({ event_id: id, type: "action", time: 1_700_000_000_000, agent_id: "a", layer: "tool", action });
      if (!r.ok) throw new Error(r.reason);
      return { ...r.event, kafka_partition: 0, kafka_offset: offset, content_hash: hash };
    };
    const storedCopies = async (id: string) =>
      queryRows<{ kafka_offset: string; action: string }>(s.reader, "test", "SELECT toString(kafka_offset) AS kafka_offset, action FROM events WHERE event_id = {id:String}", { id });
    const conflictsOf = async (id: string) =>
      Number((await queryRows<{ n: number }>(s.reader, "test", "SELECT count() AS n FROM event_conflicts WHERE event_id = {id:String}", { id }))[0].n);

    // The consumer sorts the next batch while the one before is stored (ingest/batcher.ts): the
    // refused copy was still counted as stored when its repeat was sorted.
    it("stores the next identical copy, sorted while the refused one was being written, and hands it to detection as new", async () => {
      const writer = new EventWriter(s.writer);
      const first = await writer.sort([copy("refused-same", "not-a-number", "h1")]);
      const next = await writer.sort([copy("refused-same", "7", "h1")]);
      expect((await writer.storeSorted(first)).rejected.map((r) => r.row.event_id)).toEqual(["refused-same"]);
      const { rejected, forDetection } = await writer.storeSorted(next);
      expect(rejected).toEqual([]);
      expect(forDetection.map((r) => [r.event_id, r.stored_before])).toEqual([["refused-same", false]]);
      expect(await storedCopies("refused-same")).toEqual([{ kafka_offset: "7", action: "x" }]);
    });

    it("stores a different next copy as the first copy instead of keeping it aside as a conflict", async () => {
      const writer = new EventWriter(s.writer);
      const first = await writer.sort([copy("refused-other", "not-a-number", "h1")]);
      const next = await writer.sort([copy("refused-other", "8", "h2", "y"), copy("refused-other", "9", "h3", "z")]);
      await writer.storeSorted(first);
      const { forDetection } = await writer.storeSorted(next);
      expect(forDetection.map((r) => r.kafka_offset)).toEqual(["8"]);
      expect(await storedCopies("refused-other")).toEqual([{ kafka_offset: "8", action: "y" }]);
      // The third copy conflicts with the one now stored, not with the refused one.
      const [conflict] = await queryRows<{ kafka_offset: string; first_hash: string }>(
        s.reader, "test", "SELECT toString(kafka_offset) AS kafka_offset, first_hash FROM event_conflicts WHERE event_id = 'refused-other'");
      expect(conflict).toEqual({ kafka_offset: "9", first_hash: "h2" });
      expect(await conflictsOf("refused-other")).toBe(1);
    });

    it("stores the event once when the batch after the next one was sorted before the next one took its place", async () => {
      const writer = new EventWriter(s.writer);
      const first = await writer.sort([copy("refused-chain", "not-a-number", "h1")]);
      const second = await writer.sort([copy("refused-chain", "10", "h1")]);
      await writer.storeSorted(first);
      // Sorted while the second was still counted as holding no first copy of it.
      const third = await writer.sort([copy("refused-chain", "11", "h1")]);
      expect((await writer.storeSorted(second)).forDetection.map((r) => r.stored_before)).toEqual([false]);
      // Sorted again against the store: a repeat of the copy the second batch stored.
      expect((await writer.storeSorted(third)).forDetection.map((r) => r.stored_before)).toEqual([true]);
      expect(await storedCopies("refused-chain")).toEqual([{ kafka_offset: "10", action: "x" }]);
      expect(await conflictsOf("refused-chain")).toBe(0);
    });

    it("stores the next copy in the same batch in the refused one's place, and names it as the first copy of the ones after", async () => {
      const writer = new EventWriter(s.writer);
      const batch = await writer.sort([copy("refused-here", "not-a-number", "h1"), copy("refused-here", "12", "h2", "y"), copy("refused-here", "13", "h3", "z")]);
      const { rejected, forDetection } = await writer.storeSorted(batch);
      expect(rejected.map((r) => r.row.kafka_offset)).toEqual(["not-a-number"]);
      expect(forDetection.map((r) => [r.kafka_offset, r.stored_before])).toEqual([["12", false]]);
      expect(await storedCopies("refused-here")).toEqual([{ kafka_offset: "12", action: "y" }]);
      const conflicts = await queryRows<{ kafka_offset: string; first_hash: string }>(
        s.reader, "test", "SELECT toString(kafka_offset) AS kafka_offset, first_hash FROM event_conflicts WHERE event_id = 'refused-here'");
      expect(conflicts).toEqual([{ kafka_offset: "13", first_hash: "h2" }]);
    });

    it("keeps a conflict's bytes as received when its batch is sorted again", async () => {
      const writer = new EventWriter(s.writer);
      expect(await writer.write([copy("conflict-bytes", "20", "h-old")])).toEqual([]);
      const first = await writer.sort([copy("refused-elsewhere", "not-a-number", "h1")]);
      // A copy of the event stored above, with other bytes, as it came from Kafka.
      const received = '{"event_id":"conflict-bytes","type":"action","time":1700000000000,"agent_id":"a","layer":"tool","action":"changed"}';
      const row = copy("conflict-bytes", "21", "", "changed");
      delete row.content_hash;
      const message = { key: null, value: Buffer.from(received), timestamp: "0", attributes: 0, offset: "21", size: 0, headers: {} };
      receivedFrom(row, "t.events", message as unknown as Parameters<typeof receivedFrom>[2]);
      const next = await writer.sort([row]);
      await writer.storeSorted(first);
      await writer.storeSorted(next);
      const [conflict] = await queryRows<{ payload: string }>(s.reader, "test", "SELECT payload FROM event_conflicts FINAL WHERE event_id = 'conflict-bytes'");
      expect(conflict.payload).toBe(received);
    });
  });

  /** Valid actions, `perMonth` in each of `months` consecutive months from January 2012. */
  const monthlyRows = (prefix: string, months: number, perMonth: number): EventRow[] =>
    Array.from({ length: months * perMonth }, (_, i) => {
      const r = validateEvent({
        event_id: `${prefix}-${i}`, type: "action", time: Date.UTC(2012, Math.floor(i / perMonth), 1 + (i % perMonth), 12), agent_id: "a", layer: "tool", action: "x",
      });
      if (!r.ok) throw new Error(r.reason);
      return { ...r.event, kafka_partition: 0, kafka_offset: String(i) };
    });

  /** The real engine with one setting changed, on the same data directory. */
  const engineWith = (settings: Record<string, string>) =>
    createClient({ connection: createChdbConnection({ path: parseConfig({ REVENANT_DATA_DIR: dataDir }).chdbPath }) as never, clickhouse_settings: settings });

  const stored = async (prefix: string) =>
    Number((await queryRows<{ n: number }>(s.reader, "test", "SELECT count() AS n FROM events FINAL WHERE startsWith(event_id, {p:String})", { p: `${prefix}-` }))[0].n);

  it("stores a batch of valid events spanning 120 months whole (one insert would touch too many partitions)", async () => {
    const rows = monthlyRows("months", 120, 3);
    expect(await new EventWriter(s.writer).write(rows)).toEqual([]);
    expect(await stored("months")).toBe(360);
    const [{ n }] = await queryRows<{ n: number }>(s.reader, "test", "SELECT uniqExact(toYYYYMM(time)) AS n FROM events FINAL WHERE startsWith(event_id, 'months-')");
    expect(Number(n)).toBe(120);
  });

  it("stores a batch when the server allows fewer partitions per insert than the batch spans", async () => {
    // A server configured below ClickHouse's default refuses each multi-month insert with
    // code 252: the writer must neither retry that for ever nor lose rows.
    const strict = engineWith({ max_partitions_per_insert_block: "4" });
    const retries: number[] = [];
    try {
      const rejected = await new EventWriter(strict, async (attempt) => void retries.push(attempt)).write(monthlyRows("strict", 12, 2));
      expect(rejected).toEqual([]);
    } finally {
      await strict.close();
    }
    expect(await stored("strict")).toBe(24);
    expect(retries.length).toBeGreaterThan(0);
  });

  it("ends an error that is neither connectivity nor the data's with every row dead-lettered and its reason", async () => {
    // Every insert through this client fails in the real engine (code 62, query too large),
    // whatever it holds: before, an unknown error could hold a batch for ever.
    const broken = engineWith({ max_query_size: "10" });
    try {
      const rows = monthlyRows("broken", 1, 5);
      const rejected = await new EventWriter(broken).write(rows);
      expect(rejected.map((r) => r.row.event_id)).toEqual(rows.map((r) => r.event_id));
      for (const r of rejected) expect(r.reason).toMatch(/^clickhouse rejected the row \(code 62\): Max query size exceeded/);
    } finally {
      await broken.close();
    }
    expect(await stored("broken")).toBe(0);
  });
});
