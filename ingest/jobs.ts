/**
 * Background jobs that run beside the ingest consumer in the worker role.
 * They start after migrations, so their tables exist.
 */
import { ensureFirstAdmin } from "@/lib/auth/bootstrap";
import { createKafka } from "@/lib/kafka";
import { openSession } from "@/lib/store/clickhouse";
import { logger } from "@/lib/log";
import { SsfPoller } from "@/lib/ssf/poll";
import { transmitter } from "@/lib/transmitter";
import { PushDelivery } from "@/lib/transmitter/push";
import { SetOutbox } from "@/lib/transmitter/sets";
import { StreamStore } from "@/lib/transmitter/streams";

import { WebhookDispatcher } from "@/lib/webhooks/dispatcher";
import { OtlpConsumer } from "./otlp-consumer";
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

/** Signed webhook delivery from the alert_history outbox (lib/webhooks/dispatcher/). */
export function webhookJob(): BackgroundJob {
  let dispatcher: WebhookDispatcher | null = null;
  let close = async () => {};
  return {
    name: "webhooks",
    async start(store, cfg) {
      if (!cfg.REVENANT_DELIVERY) return;
      const own = openSession(store, cfg);
      close = own.close;
      dispatcher = new WebhookDispatcher({ cfg, reader: own.client, writer: own.client });
      await dispatcher.start();
    },
    async stop() {
      await dispatcher?.stop();
      await close();
    },
  };
}

/**
 * OpenTelemetry spans from Kafka (ingest/otlp-consumer.ts), unless OTLP_KAFKA_ENABLED is off.
 * Its actions are stored and evaluated by the worker's ingest path (`ingest`). Its own
 * ClickHouse session, like webhook delivery's: span inserts and agent lookups then run beside
 * the ingest consumer's inserts instead of queueing behind them (embedded mode).
 */
export function otlpJob(): BackgroundJob {
  let consumer: OtlpConsumer | null = null;
  let close = async () => {};
  return {
    name: "otlp",
    async start(store, cfg, ingest) {
      if (!cfg.OTLP_KAFKA_ENABLED) return;
      const own = openSession(store, cfg);
      close = own.close;
      consumer = new OtlpConsumer(cfg, createKafka(cfg, "-otlp"), own.client, ingest);
      await consumer.start();
    },
    async stop() {
      await consumer?.stop();
      await close();
    },
  };
}

/**
 * SSF push delivery (RFC 8935) from the SET outbox (lib/transmitter/push.ts), on the dispatcher's kind
 * of session (openSession in lib/store/clickhouse.ts) so that its reads do not queue behind ingest's writes.
 */
export function ssfPushJob(): BackgroundJob {
  let push: PushDelivery | null = null;
  let close = async () => {};
  return {
    name: "ssf-push",
    async start(store, cfg) {
      if (!cfg.REVENANT_DELIVERY) return;
      const own = openSession(store, cfg);
      close = own.close;
      const ssf = transmitter();
      const streams = new StreamStore(own.client);
      push = new PushDelivery(cfg, streams, new SetOutbox(own.client, streams, ssf.keys, ssf.issuer));
      push.start();
    },
    async stop() {
      await push?.stop();
      await close();
    },
  };
}

/** RFC 8936 polling of the SSF streams configured for poll delivery (lib/ssf/poll.ts). */
export function ssfPollJob(): BackgroundJob {
  let poller: SsfPoller | null = null;
  return {
    name: "ssf-poll",
    async start(_store, cfg) {
      poller = new SsfPoller(cfg.SSF_POLL_INTERVAL_MS);
      poller.start();
    },
    async stop() {
      await poller?.stop();
    },
  };
}

export function workerJobs(): BackgroundJob[] {
  return [firstAdminJob(), webhookJob(), otlpJob(), ssfPollJob(), ssfPushJob()];
}
