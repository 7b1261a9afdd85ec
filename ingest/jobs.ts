/**
 * Background jobs that run beside the ingest consumer in the worker role.
 * (Webhook delivery registers here.)
 */
import type { BackgroundJob } from "./worker";

export function workerJobs(): BackgroundJob[] {
  return [];
}
