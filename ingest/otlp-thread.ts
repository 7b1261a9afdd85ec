/**
 * The OTLP consumer's worker thread, seen from the consumer (ingest/otlp-consumer.ts): a
 * batch's export messages are decoded and mapped there; the consumer then validates and hands
 * the actions to ingest while it stores the spans.
 *
 * Why a thread: decoding the exports and mapping spans is the larger part of what an OTLP span
 * costs (npm run bench:otlp prints CPU per thread). On the thread that also stores events and
 * runs detection, mapping a batch held its event loop for over a second (bench:otlp prints the
 * delay). In the worker thread that work runs beside them, on another core when one is free.
 * Validation stays on the consumer's thread: moved here too, it made this thread the slowest
 * stage (bench:otlp, otlp_proto: 6.0–6.3 s with validation on the consumer's thread against
 * 8.0–8.2 s here, for 100,000 spans, in the same minutes).
 *
 * A thread that dies fails the calls in flight; the next call starts a new thread, and the
 * consumer repeats the batch from its messages.
 */
import { Worker } from "node:worker_threads";
import type { Config } from "@/lib/config";
import { logger } from "@/lib/log";
import type { ExportMessage, MappedBatch } from "@/lib/otlp/batch";
import { sourceThread } from "./source-thread";

/** A message's bytes travel in one transferred buffer: [start, end) in it, start -1 for none. */
interface MessageRef extends Omit<ExportMessage, "value"> {
  start: number;
  end: number;
}

export type ThreadRequest =
  | { id: number; kind: "start" }
  | { id: number; kind: "map"; topic: string; partition: number; data: ArrayBuffer; messages: MessageRef[] };

export type ThreadReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

type Distribute<T> = T extends unknown ? Omit<T, "id"> : never;

export class OtlpThread {
  private readonly log = logger().child({ component: "otlp-thread" });
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(private readonly cfg: Config) {}

  /** Starts the thread (loading its code takes a while), so that the first batch does not wait for it. */
  async start(): Promise<void> {
    await this.call({ kind: "start" });
  }

  /** Decodes and maps a batch's messages in the thread. */
  map(topic: string, partition: number, messages: ExportMessage[]): Promise<MappedBatch> {
    let size = 0;
    for (const m of messages) size += m.value?.byteLength ?? 0;
    // Kafka message values are views of the fetch response: posted as they are, each would
    // copy the whole response. One fresh buffer, transferred, copies each message once.
    const data = new Uint8Array(size);
    const refs: MessageRef[] = [];
    let at = 0;
    for (const m of messages) {
      if (!m.value) {
        refs.push({ offset: m.offset, encoding: m.encoding, start: -1, end: -1 });
        continue;
      }
      data.set(m.value, at);
      refs.push({ offset: m.offset, encoding: m.encoding, start: at, end: at + m.value.byteLength });
      at += m.value.byteLength;
    }
    return this.call({ kind: "map", topic, partition, data: data.buffer, messages: refs }, [data.buffer]) as Promise<MappedBatch>;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    await worker.terminate();
  }

  private call(req: Distribute<ThreadRequest>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    const reply = this.expect(id);
    worker.postMessage({ ...req, id }, transfer);
    return reply;
  }

  private expect(id: number): Promise<unknown> {
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private spawn(): Worker {
    const options = {
      workerData: { cfg: this.cfg },
    };
    // A production build (Next.js, which sets NEXT_RUNTIME) bundles the thread's code as
    // JavaScript from this very `new Worker(new URL(…))`. From source (tsx, vitest) the thread
    // loads its TypeScript through tsx's API: a loader given with --import does not reach
    // worker threads on Node 20.
    const worker = process.env.NEXT_RUNTIME
      ? new Worker(new URL("./otlp-thread-worker.ts", import.meta.url), options)
      : sourceThread(import.meta.url.replace(/\.ts$/, "-worker.ts"), options);
    worker.on("message", (reply: ThreadReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(reply.error));
    });
    const lost = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const err = new Error(`OTLP thread ${reason}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on("error", (err) => {
      this.log.error({ err: err.message }, "OTLP thread failed");
      lost(`failed: ${err.message}`);
    });
    worker.on("exit", (code) => lost(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }
}
