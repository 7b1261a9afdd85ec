/**
 * Background jobs that run beside the ingest consumer in the worker role.
 * They start after migrations, so their tables exist.
 */
import { ensureFirstAdmin } from "@/lib/auth/bootstrap";
import { logger } from "@/lib/log";
import { WebhookDispatcher } from "@/lib/webhooks/dispatcher";
import type { BackgroundJob } from "./worker";

/** The first admin from REVENANT_ADMIN_EMAIL / REVENANT_ADMIN_PASSWORD (idempotent). */
export function firstAdminJob(): BackgroundJob {
  return {
    name: "first-admin",
    async start() {
      const outcome = await ensureFirstAdmin();
      if (outcome === "not_configured") logger().info("no REVENANT_ADMIN_EMAIL/REVENANT_ADMIN_PASSWORD: create users with `npx tsx scripts/create-user.ts`");
    },
    async stop() {},
  };
}

/** Signed webhook delivery from the alert_history outbox (lib/webhooks/dispatcher.ts). */
export function webhookJob(): BackgroundJob {
  let dispatcher: WebhookDispatcher | null = null;
  return {
    name: "webhooks",
    async start(store, cfg) {
      dispatcher = new WebhookDispatcher({ cfg, reader: store.reader, writer: store.writer });
      await dispatcher.start();
    },
    async stop() {
      await dispatcher?.stop();
    },
  };
}

export function workerJobs(): BackgroundJob[] {
  return [firstAdminJob(), webhookJob()];
}
