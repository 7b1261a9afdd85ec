/**
 * Starting a worker thread from source (tsx, vitest, the benchmarks), where its entry is
 * TypeScript: a loader given with --import does not reach worker threads on Node 20, so the
 * thread registers tsx's loader itself before it imports the entry. tsx is resolved from the
 * entry's folder, not from the working directory (an eval'd thread resolves from there), and
 * only dynamic imports are used: the eval'd code runs as CommonJS or as a module depending on
 * the parent's flags, and a thread started from another thread (the OpenTelemetry thread from
 * the ingest thread) runs as a module. A production build (Next.js) compiles the entries from
 * their `new Worker(new URL(…))` instead (ingest/in-app.ts, ingest/otlp-thread.ts).
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

const TSX_BOOTSTRAP = `
Promise.all([import("node:worker_threads"), import("node:module"), import("node:url")])
  .then(([{ workerData }, { createRequire }, { fileURLToPath, pathToFileURL }]) => {
    const api = createRequire(fileURLToPath(workerData.entry)).resolve("tsx/esm/api").replace(/\\.cjs$/, ".mjs");
    return import(pathToFileURL(api).href).then((tsx) => tsx.register()).then(() => import(workerData.entry));
  });
`;

/** A thread running the TypeScript module at `entry` (a file: URL), with `workerData` beside the entry's. */
export function sourceThread(entry: string, options: WorkerOptions & { workerData?: Record<string, unknown> }): Worker {
  return new Worker(TSX_BOOTSTRAP, { ...options, eval: true, workerData: { ...options.workerData, entry } });
}
