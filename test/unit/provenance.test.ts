/**
 * The submitter stamp of API-posted events (lib/events/provenance.ts): only a claim the app
 * signed for exactly this message is believed.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { KafkaMessage } from "kafkajs";
import { contentHash, SIGNATURE_HEADER, SUBMITTED_BY_HEADER, signedSubmitter, verifiedSubmitter } from "@/lib/events/provenance";
import { receivedFrom, stamp } from "@/ingest/first-copies";
import type { EventRow } from "@/ingest/event-writer";

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

  it("stamps a row again when reading the key failed while it was stamped, so its submitter is kept", async () => {
    // The store that holds the provenance key answers the first read with an error.
    let reads = 0;
    const client = {
      query: async () => {
        if (reads++ === 0) throw new Error("connection reset");
        return { json: async () => [{ key: key.toString("hex") }] };
      },
    } as unknown as ClickHouseClient;
    const headers = signedSubmitter(key, "api_key:k1", value);
    const message = { key: null, value: Buffer.from(value), headers, offset: "7", timestamp: "0", attributes: 0, size: 0 } as unknown as KafkaMessage;
    const row = { event_id: "e1", kafka_partition: 0, kafka_offset: "7" } as EventRow;
    receivedFrom(row, "events", message);
    await expect(stamp(client, [row])).rejects.toThrow("connection reset");
    // The flush is retried: the same row is stamped again.
    await stamp(client, [row]);
    expect(row.submitted_by).toBe("api_key:k1");
    expect(row.content_hash).toBe(contentHash(value));
  });
});
