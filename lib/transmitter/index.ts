/**
 * The SSF 1.0 transmitter (README.md, "Enforcement points"), one module per job:
 *
 * - ./keys.ts     signing keys, rotation, the JWKS
 * - ./streams.ts  receivers' streams (registered by an admin), their status and subjects
 * - ./sets.ts     the SET outbox: CAEP events from coverage changes, verification
 * - ./push.ts     push delivery (RFC 8935) with the webhooks' sender and backoff
 * Poll delivery (RFC 8936) is app/ssf/poll/[stream_id]/route.ts over ./sets.ts.
 *
 * One transmitter per thread, on globalThis (route handlers and the worker are separate
 * bundles in Next.js); in embedded mode the ingest thread has its own, and push wake-ups and
 * key rotations reach the other thread through ./signals.ts.
 */
import { config } from "../config";
import { store } from "../store/clickhouse";
import { SigningKeys } from "./keys";
import { SetOutbox } from "./sets";
import { StreamStore } from "./streams";

export interface Transmitter {
  issuer: string;
  keys: SigningKeys;
  streams: StreamStore;
  outbox: SetOutbox;
}

const key = Symbol.for("revenant.ssf");
type WithSsf = typeof globalThis & { [key]?: Transmitter };

export function transmitter(): Transmitter {
  const g = globalThis as WithSsf;
  if (!g[key]) {
    const cfg = config();
    const client = store().writer;
    // Revenant's address as SSF receivers see it (REVENANT_PUBLIC_URL; a local default for development).
    const issuer = (cfg.REVENANT_PUBLIC_URL ?? `http://localhost:${cfg.PORT}`).replace(/\/+$/, "");
    const keys = new SigningKeys(client, cfg.REVENANT_SSF_KEY_ROTATION_HOURS, cfg.REVENANT_WEBHOOK_RETRY_HOURS);
    const streams = new StreamStore(client);
    g[key] = { issuer, keys, streams, outbox: new SetOutbox(client, streams, keys, issuer) };
  }
  return g[key]!;
}

/** For tests: forget the process's transmitter (its configuration and store may change). */
export function resetTransmitter(): void {
  delete (globalThis as WithSsf)[key];
}
