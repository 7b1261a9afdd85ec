/**
 * Runs once per Next.js server process. In the "worker" role (default: embedded mode
 * runs everything in one process, because one process owns the chdb data directory)
 * it starts the Kafka consumer, detection and background jobs beside the web app.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startWorkerInApp } = await import("./ingest/in-app");
  await startWorkerInApp();
}
