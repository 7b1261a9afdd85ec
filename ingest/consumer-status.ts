/**
 * What health reports about the ingest consumer (lib/health.ts, lib/runtime-status.ts), from
 * kafkajs's events: a crash (broker gone, group lost) makes ingest "disconnected" until the
 * restarted consumer (lib/kafka-restart.ts) has rejoined the group, which also clears the error.
 */
import type { Consumer } from "kafkajs";
import type { IngestStatus } from "@/lib/runtime-status";

export interface StatusHandlers {
  stopping: () => boolean;
  /** After a crash has been recorded. */
  onCrash: (error: string) => void;
}

export function reportConsumerStatus(consumer: Consumer, status: IngestStatus, handlers: StatusHandlers): void {
  consumer.on(consumer.events.CRASH, (e) => {
    status.state = handlers.stopping() ? "stopped" : "disconnected";
    status.connected = false;
    status.lastError = `kafka: ${String(e.payload.error?.message ?? e.payload.error)}`;
    handlers.onCrash(status.lastError);
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    status.connected = true;
    status.state = "consuming";
    status.lastFetchAt = Date.now();
    // A ClickHouse outage keeps its own error until the insert goes through.
    if (!status.paused) status.lastError = null;
  });
  consumer.on(consumer.events.FETCH, () => {
    status.lastFetchAt = Date.now();
  });
  consumer.on(consumer.events.DISCONNECT, () => {
    status.connected = false;
    if (status.state === "consuming") status.state = handlers.stopping() ? "stopped" : "disconnected";
  });
}
