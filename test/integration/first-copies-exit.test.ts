/**
 * The first-copy index (event_first_copies, an EmbeddedRocksDB table) written through RocksDB's
 * memtable and write-ahead log (lib/store/migrations/090_first_copies_writes.sql): ids stored by
 * a process that is killed without closing the engine are still known to the next process on
 * the same data directory, so a later copy is still told apart as a repeat or a conflict.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Runs `body` in a fresh Node process with a store on `dataDir`; returns what it printed on its
 * last line. `killed`: the body ends by killing its own process (SIGKILL), as a crash would.
 */
function inProcess(dataDir: string, body: string, killed = false): string {
  const script = `
    const { parseConfig } = await import("./lib/config/index.ts");
    const { createStore } = await import("./lib/store/clickhouse.ts");
    const { migrate } = await import("./lib/store/migrate.ts");
    const { EventWriter } = await import("./ingest/event-writer.ts");
    const { decodeMessage } = await import("./lib/events/decode.ts");
    const { contentHash } = await import("./lib/events/content-hash.ts");
    const s = createStore(parseConfig({ REVENANT_DATA_DIR: ${JSON.stringify(dataDir)} }));
    await migrate(s.writer);
    const writer = new EventWriter(s.writer);
    const row = (event, offset) => {
      const bytes = Buffer.from(JSON.stringify(event));
      const decoded = decodeMessage(bytes);
      if (!decoded.ok) throw new Error(decoded.reason);
      return { ...decoded.event, kafka_partition: 0, kafka_offset: String(offset), kafka_topic: "events", content_hash: contentHash(bytes) };
    };
    ${body}
  `;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...process.env, LOG_LEVEL: "error" },
    encoding: "utf8",
    timeout: 120_000,
  });
  const ended = killed ? run.signal === "SIGKILL" : run.status === 0;
  if (!ended) throw new Error(`child exited with ${run.status ?? run.signal}: ${run.stderr.slice(-2000)}`);
  return run.stdout.trim().split("\n").pop() ?? "";
}

const action = (id: string, resource: string) => ({
  event_id: id, type: "action", time: "2026-11-20T10:00:00.000Z", agent_id: "exit-agent", layer: "tool", action: "execute_tool", resource, decision: "allow",
});

describe("the first-copy index across a process exit", () => {
  it("still knows the ids a process stored before it was killed", () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "revenant-first-copies-"));
    try {
      // The first process stores three events and is killed at once: nothing is closed or flushed.
      const stored = inProcess(dataDir, `
        const { rejected } = await writer.store([row(${JSON.stringify(action("exit-1", "a"))}, 1), row(${JSON.stringify(action("exit-2", "b"))}, 2), row(${JSON.stringify(action("exit-3", "c"))}, 3)]);
        process.stdout.write(JSON.stringify({ rejected: rejected.length }) + "\\n", () => process.kill(process.pid, "SIGKILL"));
        await new Promise(() => {});
      `, true);
      expect(JSON.parse(stored)).toEqual({ rejected: 0 });

      // The next process sees an identical copy of exit-1 (a repeat), a changed exit-2 (a
      // conflict) and a new exit-4.
      const sorted = inProcess(dataDir, `
        const sorted = await writer.sort([row(${JSON.stringify(action("exit-1", "a"))}, 4), row(${JSON.stringify(action("exit-2", "changed"))}, 5), row(${JSON.stringify(action("exit-4", "d"))}, 6)]);
        process.stdout.write(JSON.stringify({
          first: sorted.first.map((r) => r.event_id),
          forDetection: sorted.forDetection.map((r) => r.event_id).sort(),
          conflicts: sorted.conflicts.map((c) => c.event_id),
        }) + "\\n");
        await s.close();
      `);
      expect(JSON.parse(sorted)).toEqual({ first: ["exit-4"], forDetection: ["exit-1", "exit-4"], conflicts: ["exit-2"] });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
