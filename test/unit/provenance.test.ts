/**
 * The submitter stamp of API-posted events (lib/events/provenance.ts): only a claim the app
 * signed for exactly this message is believed.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { contentHash, SIGNATURE_HEADER, SUBMITTED_BY_HEADER, signedSubmitter, verifiedSubmitter } from "@/lib/events/provenance";

const key = randomBytes(32);
const value = JSON.stringify({ event_id: "e1", type: "action", time: "2026-11-01T12:00:00.000Z", agent_id: "a" });

describe("submitter stamp", () => {
  it("believes a claim the app signed for this message", () => {
    const h = signedSubmitter(key, "api_key:k1", value);
    expect(h[SUBMITTED_BY_HEADER]).toBe("api_key:k1");
    expect(verifiedSubmitter(key, h[SUBMITTED_BY_HEADER], h[SIGNATURE_HEADER], contentHash(value))).toBe("api_key:k1");
  });

  it("ignores a claim without a signature, with another principal, on other content, or under another key", () => {
    const h = signedSubmitter(key, "api_key:k1", value);
    const hash = contentHash(value);
    expect(verifiedSubmitter(key, "api_key:k1", "", hash)).toBe("");
    expect(verifiedSubmitter(key, "user:admin", h[SIGNATURE_HEADER], hash)).toBe("");
    expect(verifiedSubmitter(key, "api_key:k1", h[SIGNATURE_HEADER], contentHash(value.replace("action", "revocation")))).toBe("");
    expect(verifiedSubmitter(randomBytes(32), "api_key:k1", h[SIGNATURE_HEADER], hash)).toBe("");
    expect(verifiedSubmitter(key, "api_key:k1", "not base64url!", hash)).toBe("");
  });
});
