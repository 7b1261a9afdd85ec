/**
 * Where a benchmark's JavaScript allocates (BENCH_WORKER_ALLOC=<dir>): V8's sampling heap
 * profiler, keeping the samples of objects that garbage collection already freed, so the
 * profile tells the allocation rate by call stack, not what is still alive. The garbage
 * collector's CPU follows that rate. The profile (.heapprofile) opens in Chrome's DevTools.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

export async function startAllocationSampling(dir: string | undefined, name: string): Promise<() => Promise<void>> {
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 128 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as object);
  return async () => {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/${name}.heapprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}
