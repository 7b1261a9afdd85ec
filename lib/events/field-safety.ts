/**
 * Field contents that JSON allows but that would not survive storage unchanged: checked by
 * validateEvent (lib/events/schema.ts) so that such events are refused with a reason
 * instead of being stored altered.
 */
import type { StoredEvent } from "./schema";

/**
 * JSON.parse keeps a "__proto__" key as an own property, but copying the object (zod,
 * spreading) turns it into a prototype and the field disappears without a trace. Refused
 * where it can occur: at the top level and in the nested objects of schema v1.
 */
export function protoKeyAt(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  if (Object.hasOwn(value, "__proto__")) return "(event)";
  for (const field of ["attributes", "revocation", "credential"]) {
    const inner = (value as Record<string, unknown>)[field];
    if (typeof inner === "object" && inner !== null && Object.hasOwn(inner, "__proto__")) return field;
  }
  return null;
}

/**
 * A lone UTF-16 surrogate ("\ud800" in JSON) has no UTF-8 form: stored, it becomes U+FFFD,
 * so two different ids could collapse into one. Every string and attribute key must be
 * well-formed. Returns the first offending field, or null.
 */
export function malformedStringAt(e: StoredEvent): string | null {
  for (const k in e) {
    const v = (e as unknown as Record<string, unknown>)[k];
    if (typeof v === "string" && !v.isWellFormed()) return k;
  }
  for (const k in e.attributes) {
    if (!k.isWellFormed() || !e.attributes[k].isWellFormed()) return `attributes.${k.toWellFormed()}`;
  }
  return null;
}
