/**
 * lib/threads/lock.ts: a critical section entered from two threads of one process (the route
 * handlers and the ingest thread, as the alert store does) runs one caller at a time. Each
 * caller reads a shared value, yields, and writes it back incremented: any overlap loses an
 * increment.
 */
import { describe, expect, it } from "vitest";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { threadsLockTable, withThreadsLock } from "@/lib/threads/lock";

const PER_THREAD = 200;

/** The other thread: the same module, loaded from source through tsx, on the table it is handed. */
const OTHER_THREAD = `
Promise.all([import("node:worker_threads"), import("node:module"), import("node:url")]).then(
  async ([{ workerData, parentPort }, { createRequire }, { pathToFileURL }]) => {
    const api = createRequire(workerData.lockModule).resolve("tsx/esm/api").replace(/\\.cjs$/, ".mjs");
    await (await import(pathToFileURL(api).href)).register();
    const { adoptThreadsLockTable, withThreadsLock } = await import(pathToFileURL(workerData.lockModule).href);
    adoptThreadsLockTable(workerData.table);
    const shared = new Int32Array(workerData.shared);
    parentPort.postMessage("ready");
    await Promise.all(Array.from({ length: ${PER_THREAD} }, () =>
      withThreadsLock("alertWrite", async () => {
        const seen = shared[0];
        await new Promise((r) => setTimeout(r, 0));
        shared[0] = seen + 1;
      }),
    ));
    parentPort.postMessage("done");
  },
);
`;

describe("the lock shared by the threads of the process", () => {
  it("lets one caller of either thread in at a time", async () => {
    const shared = new Int32Array(new SharedArrayBuffer(4));
    const other = new Worker(OTHER_THREAD, {
      eval: true,
      workerData: { lockModule: path.resolve("lib/threads/lock.ts"), table: threadsLockTable(), shared: shared.buffer },
    });
    const messages: string[] = [];
    const next = () =>
      new Promise<string>((resolve, reject) => {
        other.once("message", (m: string) => resolve(m));
        other.once("error", reject);
      });
    try {
      messages.push(await next());
      const otherDone = next();
      await Promise.all(
        Array.from({ length: PER_THREAD }, () =>
          withThreadsLock("alertWrite", async () => {
            const seen = shared[0];
            await new Promise((r) => setTimeout(r, 0));
            shared[0] = seen + 1;
          }),
        ),
      );
      messages.push(await otherDone);
    } finally {
      await other.terminate();
    }
    expect(messages).toEqual(["ready", "done"]);
    expect(shared[0]).toBe(2 * PER_THREAD);
  }, 60_000);
});
