/**
 * Mutual exclusion across the threads of the process. A lock held in one thread is a promise
 * chain that another thread cannot see, so a critical section that both the route handlers
 * (main thread) and the ingest worker (its own thread in embedded mode, ingest/in-app.ts) enter
 * takes a slot of one SharedArrayBuffer as well. The main thread creates the table; the ingest
 * thread adopts the same buffer (it arrives in workerData) before anything locks.
 *
 * Inside one thread, callers queue on a promise chain first, so at most one of them waits on
 * the shared slot, with Atomics.waitAsync: the event loop never blocks.
 */

/** The critical sections shared between threads, one slot each. */
const SLOTS = { alertWrite: 0 } as const;
export type ThreadsLockName = keyof typeof SLOTS;

const tableKey = Symbol.for("revenant.threads.lockTable");
const chainsKey = Symbol.for("revenant.threads.lockChains");
type WithLocks = typeof globalThis & { [tableKey]?: Int32Array; [chainsKey]?: Map<ThreadsLockName, Promise<unknown>> };

function table(): Int32Array {
  const g = globalThis as WithLocks;
  g[tableKey] ??= new Int32Array(new SharedArrayBuffer(Object.keys(SLOTS).length * Int32Array.BYTES_PER_ELEMENT));
  return g[tableKey]!;
}

/** The process's lock table: created by the first thread that needs it, handed to the others. */
export function threadsLockTable(): SharedArrayBuffer {
  return table().buffer as SharedArrayBuffer;
}

/** In a new thread, before anything locks: share the parent's table. */
export function adoptThreadsLockTable(buffer: SharedArrayBuffer): void {
  (globalThis as WithLocks)[tableKey] = new Int32Array(buffer);
}

async function acquire(table: Int32Array, slot: number): Promise<void> {
  for (;;) {
    if (Atomics.compareExchange(table, slot, 0, 1) === 0) return;
    const wait = Atomics.waitAsync(table, slot, 1);
    if (!wait.async) continue;
    // A pending waitAsync does not keep Node's event loop alive: without a timer, a thread with
    // nothing else to do would end (or a test process exit) while waiting for the lock.
    const alive = setInterval(() => {}, 60_000);
    try {
      await wait.value;
    } finally {
      clearInterval(alive);
    }
  }
}

function release(table: Int32Array, slot: number): void {
  Atomics.store(table, slot, 0);
  Atomics.notify(table, slot, 1);
}

/** Runs fn while no other caller, in this thread or another, runs under the same lock. */
export function withThreadsLock<T>(name: ThreadsLockName, fn: () => Promise<T>): Promise<T> {
  const g = globalThis as WithLocks;
  const chains = (g[chainsKey] ??= new Map());
  const run = (chains.get(name) ?? Promise.resolve()).then(async () => {
    const slots = table();
    await acquire(slots, SLOTS[name]);
    try {
      return await fn();
    } finally {
      release(slots, SLOTS[name]);
    }
  });
  chains.set(name, run.catch(() => {}));
  return run;
}
