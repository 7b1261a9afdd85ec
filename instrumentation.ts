/**
 * Runs once per Next.js server process. In the "worker" role (default: embedded mode
 * runs everything in one process, because one process owns the chdb data directory)
 * it starts the Kafka consumer, detection and background jobs beside the web app.
 * First, it makes the server stamp each request with its connecting peer
 * (lib/http/client-address.ts), which sign-in limits and the audit log rely on.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { installPeerHook } = await import("./lib/http/client-address");
  installPeerHook();
  const { startWorkerInApp } = await import("./ingest/in-app");
  await startWorkerInApp();
}
