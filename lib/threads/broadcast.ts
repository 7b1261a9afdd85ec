/**
 * Notifications that reach every thread of the process. In embedded mode the ingest worker
 * runs in a worker thread of the web process (ingest/in-app.ts): an event emitted there is not
 * seen by the route handlers, and the reverse. A ThreadsEmitter is a plain EventEmitter per
 * thread (emit stays local, as tests use it) whose announce() also posts the event on a
 * BroadcastChannel of the same name, which every other thread's emitter re-emits locally.
 *
 * Only accelerators travel this way (wake a dispatcher, drop a cache): the durable record is
 * always a table, so a notification lost to a thread that is not listening yet costs a poll
 * interval at most. Arguments cross by structured clone: plain data only.
 */
import { EventEmitter } from "node:events";
import { BroadcastChannel } from "node:worker_threads";

type EventMap<T> = Record<keyof T, unknown[]>;

export class ThreadsEmitter<E extends EventMap<E>> extends EventEmitter<E> {
  private readonly channel: BroadcastChannel;

  constructor(name: string) {
    super();
    this.channel = new BroadcastChannel(name);
    // The channel must not keep a process (or a test) alive on its own.
    this.channel.unref();
    this.channel.onmessage = (message) => {
      const { event, args } = (message as { data: { event: string; args: unknown[] } }).data;
      this.emitHere(event, args);
    };
  }

  /** Emits in this thread and in every other thread of the process. */
  announce<K extends keyof E & string>(event: K, ...args: E[K]): void {
    this.emitHere(event, args);
    this.channel.postMessage({ event, args });
  }

  private emitHere(event: string, args: unknown[]): void {
    (EventEmitter.prototype.emit as (this: unknown, event: string, ...args: unknown[]) => boolean).call(this, event, ...args);
  }
}

/** The process's emitter of that name in this thread (on globalThis: Next.js bundles share it). */
export function threadsEmitter<E extends EventMap<E>>(name: string): ThreadsEmitter<E> {
  const key = Symbol.for(`revenant.threads.${name}`);
  const g = globalThis as typeof globalThis & { [key: symbol]: ThreadsEmitter<E> | undefined };
  g[key] ??= new ThreadsEmitter<E>(name);
  return g[key]!;
}
