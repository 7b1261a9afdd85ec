/**
 * Password hashing with argon2id (memory-hard), parameters from the OWASP password
 * storage cheat sheet (19 MiB, 2 passes, 1 lane): ~30 ms per hash on this class of machine.
 */
import { hash, verify } from "@node-rs/argon2";

const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

// Verifying against this when the user does not exist keeps "no such user" and
// "wrong password" equally slow, so sign-in timing does not reveal which emails exist.
let dummy: Promise<string> | null = null;

export async function verifyPassword(hashed: string | null, password: string): Promise<boolean> {
  if (!hashed) {
    dummy ??= hashPassword("not-a-real-password-but-same-cost");
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(hashed, password);
  } catch {
    return false;
  }
}
