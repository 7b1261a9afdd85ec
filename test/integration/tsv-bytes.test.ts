import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "@/lib/config";
import { command, createStore, insertBytes, queryRows, type Store } from "@/lib/store/clickhouse";
import { TsvBytes, tsvField } from "@/lib/store/tsv";

/**
 * A kept OTLP export is written into TabSeparated rows as bytes (lib/store/tsv.ts,
 * addWithBytes): whatever characters it holds, ClickHouse stores exactly the message received.
 */
describe("TabSeparated rows with a field given as bytes", () => {
  let s: Store;
  beforeAll(async () => {
    s = createStore(parseConfig({ REVENANT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "revenant-tsv-")) }));
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
    rows.add(`${tsvField("as a string\t")}\t${tsvField("a\tb\nc\\")}\n`);
    expect(rows.rows).toBe(5);
    await insertBytes(s.writer, "kept", ["id", "payload"], rows.bytes(), { comment: "test" });
    const stored = await queryRows<{ id: string; payload: string }>(s.reader, "test", "SELECT id, payload FROM kept ORDER BY id");
    expect(Object.fromEntries(stored.map((r) => [r.id, r.payload]))).toEqual({ ...messages, "as a string\t": "a\tb\nc\\" });
  });
});
