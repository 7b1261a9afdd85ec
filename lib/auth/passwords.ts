/**
 * Password hashing with argon2id (memory-hard), parameters from the OWASP password
 * storage cheat sheet (19 MiB, 2 passes, 1 lane): ~30 ms per hash on this class of machine.
 *
 * Each hash holds 19 MiB and a thread-pool thread, so at most
 * REVENANT_PASSWORD_HASH_CONCURRENCY run at once; the rest queue. A flood of sign-ins
 * then costs a queue of promises, not memory and every libuv thread (which DNS lookups
 * and file reads share).
 */
import { hash, verify } from "@node-rs/argon2";
import { config } from "../config";

const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

interface Gate {
  running: number;
  maxSeen: number;
  waiting: (() => void)[];
}

const key = Symbol.for("revenant.hashGate");
type WithGate = typeof globalThis & { [key]?: Gate };

function gate(): Gate {
  const g = globalThis as WithGate;
  g[key] ??= { running: 0, maxSeen: 0, waiting: [] };
  return g[key]!;
}

async function limited<T>(work: () => Promise<T>): Promise<T> {
  const g = gate();
  // A finishing hash hands its slot straight to the next waiter, so no newcomer can slip in between.
  if (g.running >= config().REVENANT_PASSWORD_HASH_CONCURRENCY) await new Promise<void>((resolve) => g.waiting.push(resolve));
  else g.running++;
  g.maxSeen = Math.max(g.maxSeen, g.running);
  try {
    return await work();
  } finally {
    const next = g.waiting.shift();
    if (next) next();
    else g.running--;
  }
}

/** Most hashes seen running at once since the last reset (tests and diagnostics). */
export function hashingHighWater(reset = false): number {
  const g = gate();
  const seen = g.maxSeen;
  if (reset) g.maxSeen = g.running;
  return seen;
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, OPTIONS));
}

// Verifying against this when the user does not exist keeps "no such user" and
// "wrong password" equally slow, so sign-in timing does not reveal which emails exist.
let dummy: Promise<string> | null = null;

export async function verifyPassword(hashed: string | null, password: string): Promise<boolean> {
  if (!hashed) {
    dummy ??= hashPassword("not-a-real-password-but-same-cost");
    const h = await dummy;
    await limited(() => verify(h, password)).catch(() => false);
    return false;
  }
  try {
    return await limited(() => verify(hashed, password));
  } catch {
    return false;
  }
}
