/**
 * What the transmitter's parts tell each other across the threads of the process (lib/threads/
 * broadcast.ts): in embedded mode push delivery runs in the ingest thread, while the
 * verification route and the JWKS are served by the main thread.
 *
 * - "push-due": SETs were recorded; push delivery runs a pass now instead of at its next poll.
 * - "keys-rotated": a new signing key was stored; every thread forgets the keys it remembers,
 *   so the JWKS names a key as soon as a SET signed with it can arrive.
 * - "streams-changed": a stream was written (enabled again, say); every thread forgets the
 *   oldest pending SET it remembers, so the JWKS lists the keys of SETs that count again.
 */
import { threadsEmitter, type ThreadsEmitter } from "../threads/broadcast";

type TransmitterEvents = { "push-due": []; "keys-rotated": []; "streams-changed": [] };

export function transmitterSignals(): ThreadsEmitter<TransmitterEvents> {
  return threadsEmitter<TransmitterEvents>("transmitter");
}

/** Wakes push delivery, wherever it runs in this process. */
export function wakePush(): void {
  transmitterSignals().announce("push-due");
}
