/**
 * The ingest batcher's two stages (ingest/batcher.ts): a flush is stored, then detected while
 * the next flush is stored; `stored` (which gates the offset commit) settles only after the
 * flush's detection; detections keep flush order; a stage that fails for good fails every
 * flush queued after it.
 */
import { describe, expect, it } from "vitest";
import { Batcher, type Flush } from "@/ingest/batcher";
import type { EventRow } from "@/ingest/event-writer";

const row = (id: string) => ({ event_id: id }) as EventRow;

/** A promise the test settles by hand. */
function gate() {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
  return { promise, open, fail };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("Batcher", () => {
  it("stores the next flush while the previous one is detected, and commits only after detection", async () => {
    const log: string[] = [];
    const detectGates = new Map<string, ReturnType<typeof gate>>();
    const batcher = new Batcher<string>(10, {
      store: async (f: Flush) => {
        const name = f.rows.map((r) => r.event_id).join("+");
        log.push(`store ${name}`);
        return name;
      },
      detect: async (name) => {
        log.push(`detect ${name} start`);
        const g = gate();
        detectGates.set(name, g);
        await g.promise;
        log.push(`detect ${name} end`);
      },
    });
    const first = await batcher.add([row("a")], []);
    let firstDone = false;
    void first.stored.then(() => (firstDone = true));
    await tick();
    const second = await batcher.add([row("b")], []);
    await tick();
    // a is being detected; b was stored meanwhile, its detection waits for a's.
    expect(log).toEqual(["store a", "detect a start", "store b"]);
    expect(firstDone).toBe(false);
    detectGates.get("a")!.open();
    await first.stored;
    await tick();
    expect(log).toEqual(["store a", "detect a start", "store b", "detect a end", "detect b start"]);
    detectGates.get("b")!.open();
    await second.stored;
    await batcher.drain();
  });

  it("fails every later flush once a detection failed for good", async () => {
    const batcher = new Batcher<string>(10, {
      store: async (f: Flush) => f.rows[0].event_id,
      detect: async (name) => {
        if (name === "a") throw new Error("detection gave up");
      },
    });
    const first = await batcher.add([row("a")], []);
    await expect(first.stored).rejects.toThrow("detection gave up");
    const second = await batcher.add([row("b")], []);
    await expect(second.stored).rejects.toThrow("detection gave up");
  });
});
