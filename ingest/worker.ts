/**
 * The worker role: migrations, the detection engine, the ingest consumer (which calls
 * detection after every stored batch, before committing offsets), and any background
 * jobs registered by other modules (webhook delivery). Started in-process by
 * instrumentation.ts (embedded mode) or on its own by ingest/main.ts (server mode).
 */
import { announceAlertChanges } from "@/lib/alerts/bus";
import { config, type Config } from "@/lib/config";
import { DetectionEngine } from "@/lib/detection/engine";
import { CoverageFeed } from "@/lib/feed/publisher";
import { transmitter } from "@/lib/transmitter";
import { SetOutbox } from "@/lib/transmitter/sets";
import { wakePush } from "@/lib/transmitter/signals";
import { StreamStore } from "@/lib/transmitter/streams";
import { createKafka } from "@/lib/kafka";
import { logger } from "@/lib/log";
import { runtimeStatus } from "@/lib/runtime-status";
import { openSession, store, type Store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { IngestConsumer, type EventIntake } from "./consumer";

export interface BackgroundJob {
  name: string;
  /** `ingest` takes events from intakes other than the events topic (ingest/otlp-consumer.ts). */
  start(store: Store, cfg: Config, ingest: EventIntake): Promise<void>;
  /** Called before ingest stops: a job may still hand it events while it stops. */
  stop(): Promise<void>;
}

export interface Worker {
  engine: DetectionEngine;
  consumer: IngestConsumer;
  stop(): Promise<void>;
}

export async function startWorker(opts: { cfg?: Config; jobs?: BackgroundJob[] } = {}): Promise<Worker> {
  const cfg = opts.cfg ?? config();
  const log = logger().child({ component: "worker" });
  const s = store();
  await migrate(s.writer);
  const status = runtimeStatus().detection;
  // The covered-credentials feed is published from coverage as detection rewrites it, inside each
  // batch; the SSF transmitter records the SETs each published status gives in the same step.
  const ssf = transmitter();
  const coverageSets = new SetOutbox(s.detector, new StreamStore(s.detector), ssf.keys, ssf.issuer);
  const feed = new CoverageFeed({
    kafka: createKafka(cfg, "-feed"),
    client: s.detector,
    topic: cfg.KAFKA_FEED_TOPIC,
    partitions: cfg.KAFKA_FEED_PARTITIONS,
    // An embedded store has one worker; on a server, other workers publish the same keys.
    concurrentPublishers: s.mode !== "embedded",
    // On detection's session, like the feed itself: the writer session is busy with inserts.
    onPublished: async (statuses) => {
      if ((await coverageSets.enqueueCoverage(statuses)) > 0) wakePush();
    },
  });
  await feed.start();
  // Detection runs on its own session: a batch is evaluated while the next one is stored. Its
  // summaries and alerts are published on another, beside both (lib/detection/publisher.ts).
  const engine = new DetectionEngine(
    s.detector,
    { graceMs: cfg.DETECTION_GRACE_MS, layerGraceMs: cfg.DETECTION_LAYER_GRACE_MS },
    announceAlertChanges,
    {
      scanner: s.scanner,
      publisher: s.publisher,
      soleWriter: s.mode === "embedded",
      updateIntervalMs: cfg.REVENANT_ALERT_UPDATE_INTERVAL_MS,
      announcesOwedUpdates: cfg.REVENANT_DELIVERY,
      backlogPauseMs: cfg.DETECTION_BACKLOG_PAUSE_MS,
      onCoverageChanged: async (ids, credentials, sessions) => {
        await feed.publish(ids, credentials);
        // A session revocation is told as such even when its session never presented a credential.
        if ((await coverageSets.enqueueSessions(sessions)) > 0) wakePush();
      },
    },
  );
  // Resumes pending derivations from revocation_state; no sweep over history.
  await engine.start();
  // Before ingest: SETs a crash lost between a coverage write and their recording. A failure
  // leaves them to the next start; it does not hold ingest back.
  await coverageSets
    .catchUp()
    .then((n) => {
      if (n === 0) return;
      log.info({ sets: n }, "SETs recorded that a stop had lost");
      wakePush();
    })
    .catch((err: Error) => log.warn({ err: err.message }, "SET catch-up failed; tried again at the next start"));
  status.running = true;
  // First-copy lookups of the next batch run beside the insert of the current one.
  const copies = openSession(s, cfg);
  const consumer = new IngestConsumer({
    cfg,
    kafka: createKafka(cfg, "-ingest"),
    client: s.writer,
    lookupClient: copies.client,
    hooks: {
      // Runs before the batch's offsets are committed. A failure throws, and the consumer
      // retries the whole flush: storing is deduplicated and detection's writes are keyed by
      // (revocation, event), so the retry changes only what the failure left undone.
      // Derivations from scratch run beside ingest; a failed one is retried every second below.
      afterStore: async (events, context) => {
        await engine.onEvents(events, context);
        status.evaluations++;
        status.lastEvaluationAt = new Date().toISOString();
        status.lastError = engine.lastError;
        status.pendingDerivations = engine.pendingCount();
        status.prepared = engine.preparedCounts();
      },
    },
  });
  await consumer.start();
  const retry = setInterval(() => {
    engine
      .tick()
      .then(() => {
        status.lastError = engine.lastError;
        status.pendingDerivations = engine.pendingCount();
      })
      .catch((err: Error) => log.error({ err: err.message }, "detection tick failed"));
  }, 1_000);
  retry.unref();
  for (const job of opts.jobs ?? []) await job.start(s, cfg, consumer);
  log.info("worker started");
  let stopped = false;
  return {
    engine,
    consumer,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(retry);
      // Jobs first: the OpenTelemetry intake commits its batches once ingest has stored them.
      for (const job of opts.jobs ?? []) await job.stop().catch((err) => log.warn({ job: job.name, err: err.message }, "job stop failed"));
      await consumer.stop();
      await copies.close();
      await engine.stop();
      await feed.stop();
      status.running = false;
    },
  };
}
