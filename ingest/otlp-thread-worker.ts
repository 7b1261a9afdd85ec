/**
 * The OTLP consumer's worker thread (started by ingest/otlp-thread.ts): decodes and maps a
 * batch's export messages (lib/otlp/batch.ts). That is pure JavaScript work, the larger part
 * of what an OTLP span costs; here it runs on the second core, beside the thread that
 * validates and stores the actions and runs detection.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Config } from "@/lib/config";
import { otlpMapping } from "@/lib/otlp";
import { mapBatch } from "@/lib/otlp/batch";
import type { ThreadReply, ThreadRequest } from "./otlp-thread";

const cfg = (workerData as { cfg: Config }).cfg;
const mapping = otlpMapping(cfg);

function handle(req: ThreadRequest): { value: unknown; transfer: ArrayBuffer[] } {
  switch (req.kind) {
    case "start":
      return { value: null, transfer: [] };
    case "map": {
      const data = Buffer.from(req.data);
      const messages = req.messages.map((m) => ({ offset: m.offset, encoding: m.encoding, value: m.start < 0 ? null : data.subarray(m.start, m.end) }));
      const mapped = mapBatch({ topic: req.topic, partition: req.partition, mapping, keepContextSpans: cfg.OTLP_KEEP_CONTEXT_SPANS, skipContextSpans: cfg.OTLP_CONTEXT_SPANS === "skip" }, messages);
      return { value: mapped, transfer: [mapped.spanRows.buffer as ArrayBuffer, mapped.exportRows.buffer as ArrayBuffer] };
    }
  }
}

parentPort!.on("message", (req: ThreadRequest) => {
  let reply: ThreadReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const done = handle(req);
    reply = { id: req.id, ok: true, value: done.value };
    transfer = done.transfer;
  } catch (err) {
    reply = { id: req.id, ok: false, error: (err as Error).message };
  }
  parentPort!.postMessage(reply, transfer);
});
