/**
 * Events in, as the intakes receive them: a Kafka message's bytes (decodeMessage) or a value
 * JSON.parse gave (validateParsedEvent), into the stored row or a dead-letter reason. Plainly
 * valid actions, nearly all of the traffic, take the shortcut past zod (./plain-action.ts);
 * everything else, and every refusal's reason, comes from the schema (./schema.ts).
 */
import { isUtf8 } from "node:buffer";
import { plainActionOrNull } from "./plain-action";
import { MAX_EVENT_BYTES, validateEvent, type DecodeResult } from "./schema";

/** A parsed event validated: by the shortcut when it is a plainly valid action, by the schema otherwise. */
export function validateParsedEvent(value: unknown, now: number = Date.now()): DecodeResult {
  const plain = plainActionOrNull(value, now);
  return plain ? { ok: true, event: plain } : validateEvent(value, now);
}

/** Decodes one Kafka message value (bytes) into a stored event, or a dead-letter reason. */
export function decodeMessage(value: Buffer | null, now: number = Date.now()): DecodeResult {
  if (value === null || value.length === 0) return { ok: false, reason: "empty message" };
  if (value.length > MAX_EVENT_BYTES) return { ok: false, reason: `message of ${value.length} bytes exceeds 1 MiB` };
  // Invalid UTF-8 would be decoded with U+FFFD in its place: the stored event would not be the one sent.
  if (!isUtf8(value)) return { ok: false, reason: "not valid UTF-8" };
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, reason: "schema: a message must be one JSON object" };
  }
  return validateParsedEvent(json, now);
}
