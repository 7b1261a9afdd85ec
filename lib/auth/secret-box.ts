/**
 * Secrets the app must be able to read back (webhook signing secrets: HMAC needs them; the
 * tokens an SSF stream sends to its transmitter),
 * encrypted at rest with AES-256-GCM under REVENANT_SECRET_KEY.
 *
 * Stored form: `enc:v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url parts). The key id is
 * the first 8 hex digits of SHA-256(key), so after a rotation (new key in
 * REVENANT_SECRET_KEY, old one in REVENANT_SECRET_KEY_PREVIOUS) each value names the key
 * that opens it; `npx tsx scripts/rotate-secrets.ts` re-encrypts everything under the new
 * key, after which the previous key can go.
 *
 * Without REVENANT_SECRET_KEY nothing is derived or invented: values are stored as they
 * are (plain text) and a warning is logged once per process. A value encrypted under a
 * key that is not configured cannot be opened: open() throws rather than sign with junk.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { config, decodeKey } from "../config";
import { logger } from "../log";

const PREFIX = "enc:v1:";

export class SecretKeyMissingError extends Error {}

interface Key {
  id: string;
  bytes: Buffer;
}

function toKey(text: string | undefined): Key | null {
  const bytes = text ? decodeKey(text) : null;
  return bytes ? { id: createHash("sha256").update(bytes).digest("hex").slice(0, 8), bytes } : null;
}

function keys(): { current: Key | null; all: Key[] } {
  const cfg = config();
  const current = toKey(cfg.REVENANT_SECRET_KEY);
  const previous = toKey(cfg.REVENANT_SECRET_KEY_PREVIOUS);
  return { current, all: [current, previous].filter((k): k is Key => k !== null) };
}

let warned = false;

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** The key id a stored value was sealed with, or null for plain text. */
export function sealedWith(stored: string): string | null {
  return isSealed(stored) ? stored.slice(PREFIX.length).split(":")[0] : null;
}

export function currentKeyId(): string | null {
  return keys().current?.id ?? null;
}

export function seal(plain: string): string {
  const key = keys().current;
  if (!key) {
    if (!warned) logger().warn("REVENANT_SECRET_KEY is not set: webhook signing secrets and SSF stream tokens are stored unencrypted");
    warned = true;
    return plain;
  }
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.bytes, iv);
  cipher.setAAD(Buffer.from(PREFIX + key.id));
  const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  const b = (x: Buffer) => x.toString("base64url");
  return `${PREFIX}${key.id}:${b(iv)}:${b(cipher.getAuthTag())}:${b(ct)}`;
}

export function open(stored: string): string {
  if (!isSealed(stored)) return stored;
  const [id, iv, tag, ct] = stored.slice(PREFIX.length).split(":");
  const key = keys().all.find((k) => k.id === id);
  if (!key) throw new SecretKeyMissingError(`a stored secret was encrypted with key ${id}, which neither REVENANT_SECRET_KEY nor REVENANT_SECRET_KEY_PREVIOUS holds`);
  const decipher = createDecipheriv("aes-256-gcm", key.bytes, Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(PREFIX + key.id));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
}
