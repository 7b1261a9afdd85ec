import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratedStore, temporaryStore } from "../helpers/store";
import { command, insertBytes, queryRows, type Store } from "@/lib/store/clickhouse";
import { TsvBytes, tsvField } from "@/lib/store/tsv";
import { appendPairs, deletePairs } from "@/lib/detection/pairs";
import type { MatchedPair } from "@/lib/detection/matcher";

/**
 * A kept OTLP export is written into TabSeparated rows as bytes (lib/store/tsv.ts,
 * addWithBytes): whatever characters it holds, ClickHouse stores exactly the message received.
 * Rows given as strings, with or without their newline (add, addLine), keep every character too.
 */
describe("TabSeparated rows with a field given as bytes", () => {
  let s: Store;
  beforeAll(async () => {
    s = temporaryStore("tsv");
    await command(s.writer, "test", "CREATE TABLE kept (id String, payload String) ENGINE = MergeTree ORDER BY id");
  });
  afterAll(async () => s.close());

  it("stores each message exactly, escaped or not", async () => {
    const messages = {
      compact: '{"resourceSpans":[{"name":"ünïcødé ☃ 𝄞"}]}',
      // Pretty-printed JSON and escapes inside strings: tabs, newlines, carriage returns, backslashes.
      pretty: '{\n\t"name": "a\\\\b \\"q\\"",\r\n\t"path": "C:\\\\tmp\\\\x"\n}\n',
      specials: "\\\t\n\r\\\\\t\t\n\n",
      empty: "",
    };
    const rows = new TsvBytes();
    for (const [id, text] of Object.entries(messages)) rows.addWithBytes(`${tsvField(id)}\t`, Buffer.from(text, "utf8"));
    // A row given without its newline (the events' and the pairs' rows): the buffer ends it.
    rows.addLine(`${tsvField("as a line")}\t${tsvField("ünï\r\ncødé")}`);
    rows.add(`${tsvField("as a string\t")}\t${tsvField("a\tb\nc\\")}\n`);
    expect(rows.rows).toBe(6);
    await insertBytes(s.writer, "kept", ["id", "payload"], rows.bytes(), { comment: "test" });
    const stored = await queryRows<{ id: string; payload: string }>(s.reader, "test", "SELECT id, payload FROM kept ORDER BY id");
    expect(Object.fromEntries(stored.map((r) => [r.id, r.payload]))).toEqual({ ...messages, "as a string\t": "a\tb\nc\\", "as a line": "ünï\r\ncødé" });
  });
});

/**
 * Post-revocation pairs are inserted as TabSeparated bytes (lib/detection/pairs.ts): an
 * investigator's export of them must show every field exactly as the action had it.
 */
describe("post-revocation pairs as TabSeparated rows", () => {
  let s: Store;
  beforeAll(async () => {
    s = await migratedStore("pairs");
  });
  afterAll(async () => s.close());

  it("stores each field exactly, whatever characters it holds, and a tombstone ends the pair", async () => {
    const pair = (event_id: string, resource: string): MatchedPair => ({
      revocation_id: "rev\t1",
      generation: 1,
      event_id,
      violation: true,
      via: "cascade",
      time: "2026-11-20T10:00:00.123Z",
      agent_id: "spiffe://acme/agent\\7",
      pipeline_id: "pipe\nline",
      session_id: "sess-ünïcødé ☃ 𝄞",
      credential_id: "tok-'quoted'",
      layer: "tool",
      action: "secret.read",
      resource,
      decision: "allow",
      sensitivity: "high",
    });
    const pairs = [pair("e-1", "vault://a\tb\nc\r\\d"), pair("e-2", "")];
    expect(await appendPairs(s.writer, pairs)).toBe(2);
    // Asked again, nothing is new.
    expect(await appendPairs(s.writer, pairs)).toBe(0);
    const read = async () =>
      queryRows<Record<string, unknown>>(
        s.reader,
        "test",
        `SELECT revocation_id, generation, event_id, violation, via, formatDateTime(time, '%Y-%m-%dT%H:%i:%s.%fZ', 'UTC') AS time, agent_id,
                pipeline_id, session_id, credential_id, layer, action, resource, decision, sensitivity
         FROM post_revocation_actions FINAL ORDER BY event_id`,
      );
    const stored = await read();
    expect(stored.map((r) => ({ ...r, generation: Number(r.generation), time: String(r.time).replace(/(\.\d{3})\d*Z$/, "$1Z") }))).toEqual(pairs);
    await deletePairs(s.writer, [{ revocation_id: "rev\t1", event_id: "e-1", generation: 1 }]);
    expect((await read()).map((r) => r.event_id)).toEqual(["e-2"]);
  });
});
