/** Inputs that used to be stored altered or silently trimmed are refused with a reason. */
import { describe, expect, it } from "vitest";
import { decodeMessage } from "@/lib/events/decode";
import { validateEvent } from "@/lib/events/schema";
import { nestedDeeperThan } from "@/lib/http/json-depth";

const base = { event_id: "e-1", type: "action", time: "2026-01-01T00:00:00Z", agent_id: "a", layer: "tool", action: "x" };
const reasonOf = (r: ReturnType<typeof validateEvent>) => (r.ok ? null : r.reason);

describe("hostile event fields", () => {
  it("refuses a lone UTF-16 surrogate in ids, strings and attribute keys", () => {
    expect(reasonOf(validateEvent({ ...base, event_id: "id-\ud800" }))).toBe("schema: event_id: not valid Unicode (a lone UTF-16 surrogate)");
    expect(reasonOf(validateEvent({ ...base, agent_id: "\udc00a" }))).toBe("schema: agent_id: not valid Unicode (a lone UTF-16 surrogate)");
    expect(reasonOf(validateEvent({ ...base, attributes: { "k\ud800": "v" } }))).toMatch(/^schema: attributes\.k\ufffd: not valid Unicode/);
    expect(reasonOf(validateEvent({ ...base, odd: "\ud83d" }))).toMatch(/^schema: attributes\._extra\.odd: not valid Unicode/);
    // The same through Kafka bytes: JSON escapes decode into the lone surrogate.
    expect(reasonOf(decodeMessage(Buffer.from(JSON.stringify({ ...base, event_id: "id-\ud800" }))))).toMatch(/event_id: not valid Unicode/);
    // A well-formed pair is fine.
    expect(validateEvent({ ...base, event_id: "id-\ud83d\udc80" }).ok).toBe(true);
  });

  it("refuses bytes that are not UTF-8 instead of storing U+FFFD", () => {
    const bytes = Buffer.concat([Buffer.from('{"event_id":"x'), Buffer.from([0xff, 0xfe]), Buffer.from('","type":"action"}')]);
    expect(reasonOf(decodeMessage(bytes))).toBe("not valid UTF-8");
  });

  it("refuses a __proto__ key instead of dropping it", () => {
    const top = JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(base).slice(1)}`);
    expect(reasonOf(validateEvent(top))).toBe('schema: (event): "__proto__" is not accepted as a field name');
    const inAttributes = JSON.parse(`{"attributes":{"__proto__":"v","k":"w"},${JSON.stringify(base).slice(1)}`);
    expect(reasonOf(validateEvent(inAttributes))).toBe('schema: attributes: "__proto__" is not accepted as a field name');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // "constructor" and "prototype" are ordinary names and are kept.
    const kept = validateEvent({ ...base, constructor: "c", attributes: { prototype: "p" } });
    expect(kept.ok && kept.event.attributes).toEqual({ prototype: "p", "_extra.constructor": "c" });
  });

  it("measures nesting without recursion", () => {
    const deep = JSON.parse("[".repeat(10_000) + "]".repeat(10_000));
    expect(nestedDeeperThan(deep)).toBe(true);
    expect(nestedDeeperThan({ ...base, revocation: { scope: "agent" }, x: [[{ y: 1 }]] })).toBe(false);
    expect(nestedDeeperThan(JSON.parse("[".repeat(64) + "]".repeat(64)))).toBe(false);
    expect(nestedDeeperThan(JSON.parse("[".repeat(65) + "]".repeat(65)))).toBe(true);
  });
});
