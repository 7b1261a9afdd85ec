/**
 * The ingest batcher's three stages (ingest/batcher.ts): a flush is prepared, stored, then
 * detected; a full next flush is prepared while the previous one is stored (a smaller one
 * gathers rows until that store ends), and stored while the previous one is detected; `stored` (which gates the offset commit) settles only after the
 * flush's detection; each stage keeps flush order; a stage that fails for good fails every
 * flush queued after it.
 */
import { describe, expect, it } from "vitest";
import { Batcher, type Flush } from "@/ingest/batcher";
import type { DeadLetter } from "@/ingest/dead-letters";
import type { EventRow } from "@/ingest/event-writer";

const row = (id: string) => ({ event_id: id }) as EventRow;

/** A promise the test settles by hand. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((res) => (open = res));
  return { promise, open };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** Stages that log what they do and wait for the test to let each store and detection finish. */
function gatedStages(log: string[]) {
  const gates = new Map<string, ReturnType<typeof gate>>();
  const wait = (key: string) => {
    const g = gate();
    gates.set(key, g);
    return g.promise;
  };
  const open = (key: string) => gates.get(key)!.open();
  const stages = {
    prepare: async (f: Flush) => {
      const name = f.rows.map((r) => r.event_id).join("+");
      log.push(`prepare ${name}`);
      return name;
    },
    store: async (name: string) => {
      log.push(`store ${name}`);
      await wait(`store ${name}`);
      return name;
    },
    detect: async (name: string) => {
      log.push(`detect ${name}`);
      await wait(`detect ${name}`);
    },
  };
  return { stages, open };
}

/**
 * A batcher of one-row flushes whose flushes named "x…" were stored while catching up (up to
 * three detected at once); `add` hands it a row and records, in `settled`, when it may commit.
 */
function gatheringBatcher() {
  const log: string[] = [];
  const { stages, open } = gatedStages(log);
  const batcher = new Batcher<string, string>(1, {
    ...stages,
    gather: { wanted: (name) => name.startsWith("x"), merge: (names) => names.join(","), upTo: 3 },
  });
  const settled: string[] = [];
  const add = async (id: string) => {
    const { stored } = await batcher.add([row(id)], []);
    void stored.then(() => settled.push(id));
    await settle();
  };
  return { batcher, log, open, add, settled };
}

describe("Batcher", () => {
  it("overlaps the stages of consecutive full flushes and commits a flush only after its detection", async () => {
    const log: string[] = [];
    const { stages, open } = gatedStages(log);
    // Flushes of one row are full: the next is taken while the previous one is stored.
    const batcher = new Batcher<string, string>(1, stages);
    const a = await batcher.add([row("a")], []);
    let aDone = false;
    void a.stored.then(() => (aDone = true));
    await settle();
    const b = await batcher.add([row("b")], []);
    await settle();
    // b is prepared while a is stored; its store waits for a's.
    expect(log).toEqual(["prepare a", "store a", "prepare b"]);
    open("store a");
    await settle();
    expect(log).toEqual(["prepare a", "store a", "prepare b", "detect a", "store b"]);
    const c = await batcher.add([row("c")], []);
    await settle();
    // c is prepared while b is stored and a detected.
    expect(log.slice(5)).toEqual(["prepare c"]);
    open("store b");
    await settle();
    // b's detection waits for a's; c's store waits until b can move on to detection.
    expect(log.slice(6)).toEqual([]);
    expect(aDone).toBe(false);
    open("detect a");
    await a.stored;
    await settle();
    expect(log.slice(6)).toEqual(["detect b", "store c"]);
    open("detect b");
    open("store c");
    await b.stored;
    await settle();
    open("detect c");
    await c.stored;
    await batcher.drain();
  });

  it("tells how long a prepared flush was held back because detection had not taken the flushes before it", async () => {
    const log: string[] = [];
    const { stages, open } = gatedStages(log);
    const batcher = new Batcher<string, string>(1, stages);
    await batcher.add([row("a")], []);
    await settle();
    await batcher.add([row("b")], []);
    open("store a");
    await settle();
    await batcher.add([row("c")], []);
    open("store b");
    await settle();
    // c is prepared and the store is free, but b waits for a's detection: c is held back.
    expect(log.slice(-1)).toEqual(["prepare c"]);
    await new Promise((r) => setTimeout(r, 60));
    const before = batcher.stageTimes();
    expect(before.storeHeldByDetection).toBeLessThan(5); // counted once the hold ends
    open("detect a");
    await settle();
    expect(log.slice(-2)).toEqual(["detect b", "store c"]);
    const held = batcher.stageTimes();
    expect(held.storeHeldByDetection).toBeGreaterThanOrEqual(50);
    expect(held.detecting).toBeGreaterThanOrEqual(50); // a's detection ran through the wait
    open("store c");
    open("detect b");
    await settle();
    open("detect c");
    await batcher.drain();
    expect(batcher.stageTimes().storing).toBeGreaterThan(held.storing);
  });

  it("while catching up, detects the flushes stored meanwhile together, in order, and commits each after that detection", async () => {
    // Flushes named "x…" are stored while catching up; up to three are detected at once.
    const { batcher, log, open, add, settled } = gatheringBatcher();
    await add("x1");
    await add("x2");
    open("store x1");
    await settle();
    // x1 is stored, but x2 is on its way: detection waits for more.
    expect(log).toEqual(["prepare x1", "store x1", "prepare x2", "store x2"]);
    await add("x3");
    open("store x2");
    await settle();
    expect(log.slice(4)).toEqual(["prepare x3", "store x3"]);
    open("store x3");
    await settle();
    // Three stored: one detection takes them all; the next store may start meanwhile.
    expect(log.slice(6)).toEqual(["detect x1,x2,x3"]);
    expect(settled).toEqual([]);
    await add("y4");
    expect(log.slice(7)).toEqual(["prepare y4", "store y4"]);
    open("store y4");
    await settle();
    // Live traffic (not catching up) waits for nobody, but for the detection before it.
    expect(log.slice(9)).toEqual([]);
    open("detect x1,x2,x3");
    await settle();
    expect(settled).toEqual(["x1", "x2", "x3"]);
    expect(log.slice(9)).toEqual(["detect y4"]);
    open("detect y4");
    await batcher.drain();
    expect(settled).toEqual(["x1", "x2", "x3", "y4"]);
  });

  it("while a flush is stored, gathers the rows that arrive into one flush until it is full", async () => {
    const log: string[] = [];
    const { stages, open } = gatedStages(log);
    const batcher = new Batcher<string, string>(3, stages);
    const added: Promise<unknown>[] = [];
    for (const id of ["a", "b", "c"]) {
      added.push((await batcher.add([row(id)], [])).stored);
      await settle();
    }
    // a was taken at once (nothing was being stored); b and c wait for a's store to end.
    expect(log).toEqual(["prepare a", "store a"]);
    open("store a");
    await settle();
    expect(log.slice(2)).toEqual(["detect a", "prepare b+c", "store b+c"]);
    // A full flush does not wait for the store in progress: it is prepared beside it.
    for (const id of ["d", "e", "f"]) {
      added.push((await batcher.add([row(id)], [])).stored);
      await settle();
    }
    expect(log.slice(5)).toEqual(["prepare d+e+f"]);
    open("detect a");
    open("store b+c");
    await settle();
    open("detect b+c");
    await settle();
    open("store d+e+f");
    await settle();
    open("detect d+e+f");
    await Promise.all(added);
    await batcher.drain();
  });

  it("detects what was stored when no more flushes are coming, even while catching up", async () => {
    const log: string[] = [];
    const { stages, open } = gatedStages(log);
    const batcher = new Batcher<string, string>(10, {
      ...stages,
      gather: { wanted: () => true, merge: (names) => names.join(","), upTo: 4 },
    });
    const { stored } = await batcher.add([row("x1")], []);
    await settle();
    open("store x1");
    await settle();
    expect(log).toEqual(["prepare x1", "store x1", "detect x1"]);
    open("detect x1");
    await stored;
  });


  it("keeps gathering when a small flush follows flushes stored while catching up", async () => {
    // "x…" flushes were stored while catching up, "y…" is a small one taken a moment later.
    const { batcher, log, open, add, settled } = gatheringBatcher();
    await add("x1");
    await add("y2");
    open("store x1");
    await settle();
    await add("x3");
    open("store y2");
    await settle();
    // x1 still wants company: the small y2 does not send x1 and y2 to detection one by one.
    expect(log).toEqual(["prepare x1", "store x1", "prepare y2", "store y2", "prepare x3", "store x3"]);
    open("store x3");
    await settle();
    expect(log.slice(6)).toEqual(["detect x1,y2,x3"]);
    open("detect x1,y2,x3");
    await batcher.drain();
    expect(settled).toEqual(["x1", "y2", "x3"]);
  });

  /** Hands `batcher` letters one at a time until one is not taken within a few turns; returns how many were. */
  async function lettersTakenBeforeBackPressure(batcher: Batcher<string, string>, letter: (i: number) => DeadLetter, upTo: number) {
    for (let i = 0; i < upTo; i++) {
      let handedOver = false;
      void batcher.add([], [letter(i)]).then(() => (handedOver = true));
      await settle();
      if (!handedOver) return i;
    }
    return upTo;
  }

  it("holds back dead letters while a flush is stored, as it holds back rows", async () => {
    const log: string[] = [];
    const { stages, open } = gatedStages(log);
    const batcher = new Batcher<string, string>(10, stages);
    await batcher.add([row("a")], []);
    await settle();
    expect(log).toEqual(["prepare a", "store a"]);
    // Bad messages keep coming while "a" is stored: one full flush of them is prepared and
    // waits for the store, the next one gathers, and then add() waits for room.
    const letter = (i: number): DeadLetter => ({ origin: "kafka", topic: "t", partition: 0, offset: String(i), key: null, value: Buffer.alloc(1024), reason: "not JSON" });
    expect(await lettersTakenBeforeBackPressure(batcher, letter, 100)).toBe(20);
    // Room again once "a" is stored and the prepared flush moves on to its store.
    let handedOver = false;
    void batcher.add([], [letter(100)]).then(() => (handedOver = true));
    open("store a");
    await settle();
    expect(handedOver).toBe(true);
  });

  it("counts 64 MiB of waiting letters as a full flush", async () => {
    const log: string[] = [];
    const { stages } = gatedStages(log);
    const batcher = new Batcher<string, string>(20_000, stages);
    await batcher.add([row("a")], []);
    await settle();
    // Messages of 8 MiB: eight make a flush's worth of bytes, taken to wait for the store; eight
    // more gather, and the next one waits.
    const big = (i: number): DeadLetter => ({ origin: "kafka", topic: "t", partition: 0, offset: String(i), key: null, value: Buffer.alloc(8 * 1024 * 1024), reason: "too large" });
    expect(await lettersTakenBeforeBackPressure(batcher, big, 40)).toBe(16);
  });

  it("fails every later flush once a stage failed for good", async () => {
    const batcher = new Batcher<string, string>(10, {
      prepare: async (f: Flush) => f.rows[0].event_id,
      store: async (name) => name,
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
