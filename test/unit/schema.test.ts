import { describe, expect, it } from "vitest";
import { decodeMessage } from "@/lib/events/decode";
import { validateEvent } from "@/lib/events/schema";

const action = {
  event_id: "e1",
  type: "action",
  time: "2026-03-01T10:00:00.5+02:00",
  agent_id: "agent-a",
  layer: "tool",
  action: "execute_tool",
};

describe("schema v1", () => {
  it("stores any RFC 3339 offset as UTC with milliseconds", () => {
    const r = validateEvent(action);
    expect(r.ok && r.event.time).toBe("2026-03-01T08:00:00.500Z");
  });

  it("accepts epoch milliseconds", () => {
    const r = validateEvent({ ...action, time: 1772359200123 });
    expect(r.ok && r.event.time).toBe("2026-03-01T10:00:00.123Z");
  });

  it("defaults an action's decision to unknown and a revocation's cascade to true", () => {
    const a = validateEvent(action);
    expect(a.ok && a.event.decision).toBe("unknown");
    const v = validateEvent({ event_id: "r", type: "revocation", time: 1772359200123, revocation: { scope: "agent", subject: "x" } });
    expect(v.ok && v.event.rev_cascade).toBe(true);
  });

  it("names the missing fields of an action", () => {
    const r = validateEvent({ event_id: "e", type: "action", time: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain("agent_id: required for type action");
      expect(r.reason).toContain("layer: required for type action");
    }
  });

  it("rejects a time without an offset and a time more than 24 h ahead", () => {
    expect(validateEvent({ ...action, time: "2026-03-01T10:00:00" }).ok).toBe(false);
    const now = Date.parse("2026-03-01T00:00:00Z");
    const r = validateEvent({ ...action, time: "2026-03-02T00:00:01Z" }, now);
    expect(r.ok || r.reason).toMatch(/more than 24 h in the future/);
    expect(validateEvent({ ...action, time: "2026-03-01T23:59:59Z" }, now).ok).toBe(true);
  });

  it("dead-letters a time before 2000-01-01 with its reason, and accepts 2000-01-01 itself", () => {
    for (const time of ["1999-12-31T23:59:59.999Z", "2000-01-01T00:59:59+01:00", 0, 946684799999]) {
      const r = decodeMessage(Buffer.from(JSON.stringify({ ...action, time })));
      expect(r.ok, String(time)).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/^time: .* is before 2000-01-01T00:00:00Z, the earliest event time accepted$/);
    }
    expect(validateEvent({ ...action, time: "2000-01-01T00:00:00Z" }).ok).toBe(true);
    expect(validateEvent({ ...action, time: 946684800000 }).ok).toBe(true);
  });

  it("keeps unknown top-level fields as attributes instead of failing", () => {
    const r = validateEvent({ ...action, tenant: "acme", attributes: { retries: 3 } });
    expect(r.ok && r.event.attributes).toEqual({ retries: "3", "_extra.tenant": "acme" });
  });

  it("never lets an unknown field replace an attribute the producer sent under the same name", () => {
    const r = validateEvent({ ...action, ticket: "JIRA-2", attributes: { "_extra.ticket": "JIRA-1", "__extra.ticket": "JIRA-0" } });
    expect(r.ok && r.event.attributes).toEqual({ "_extra.ticket": "JIRA-1", "__extra.ticket": "JIRA-0", "___extra.ticket": "JIRA-2" });
  });

  it("gives dead-letter reasons for bytes that are not an event", () => {
    expect(decodeMessage(Buffer.from("{nope"))).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid JSON/) });
    expect(decodeMessage(Buffer.from("[1]"))).toMatchObject({ ok: false, reason: expect.stringMatching(/one JSON object/) });
    expect(decodeMessage(Buffer.alloc(1024 * 1024 + 1, 32))).toMatchObject({ ok: false, reason: expect.stringMatching(/exceeds 1 MiB/) });
  });

  it("dead-letters impossible dates instead of throwing", () => {
    for (const time of ["2026-13-45T00:00:00Z", "2026-02-30T10:00:00Z", "2026-02-10T25:61:00Z", 9e15]) {
      const r = decodeMessage(Buffer.from(JSON.stringify({ ...action, time })));
      expect(r.ok, String(time)).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/time/);
    }
    const expiry = validateEvent({ event_id: "c", type: "credential_issued", time: 0, agent_id: "a", credential: { id: "x", expires_at: 9e15 } });
    expect(expiry.ok || expiry.reason).toMatch(/credential.expires_at/);
    expect(validateEvent({ ...action, time: "2024-02-29T10:00:00Z" }).ok).toBe(true);
  });
});
