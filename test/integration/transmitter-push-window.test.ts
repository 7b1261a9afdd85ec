/**
 * The push retry window of SSF SETs (lib/transmitter/push.ts) on the embedded engine, against a
 * local receiver that answers 503: a SET's retries end REVENANT_WEBHOOK_RETRY_HOURS after its
 * first attempt or the stream's last change, whichever is later, so the SETs a paused stream
 * held for longer than the window are still retried once it is enabled again, not failed at
 * the first refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseConfig } from "@/lib/config";
import type { Store } from "@/lib/store/clickhouse";
import { queryRows } from "@/lib/store/clickhouse";
import { nextVersion } from "@/lib/store/version";
import { SigningKeys } from "@/lib/transmitter/keys";
import { PushDelivery } from "@/lib/transmitter/push";
import { SetOutbox, type SetRow } from "@/lib/transmitter/sets";
import { PUSH, StreamStore, streamInput } from "@/lib/transmitter/streams";
import { eventually } from "../helpers/stack";
import { migratedStore } from "../helpers/store";

const HOUR = 3_600_000;

describe("SSF push retry window", () => {
  let s: Store;
  let received = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(503).end();
    });
  });

  beforeAll(async () => {
    s = await migratedStore("ssf-push-window");
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    receiver.close();
    await s.close();
  });

  it("counts a SET's retries from its first attempt or the stream's last change, whichever is later", async () => {
    const cfg = parseConfig({ REVENANT_WEBHOOK_ALLOWLIST: "127.0.0.1", REVENANT_WEBHOOK_RETRY_HOURS: "24", REVENANT_WEBHOOK_POLL_MS: "50" });
    const streams = new StreamStore(s.writer);
    const { stream } = await streams.create(
      streamInput.parse({ aud: "paused-then-enabled", delivery: { method: PUSH, endpoint_url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events` } }),
    );
    const hoursAgo = (h: number) => new Date(Date.now() - h * HOUR).toISOString();
    // The stream as it was when it was last changed, 40 hours ago.
    await s.writer.insert({ table: "transmitter_streams", format: "JSONEachRow", values: [{ ...stream, changed_at: hoursAgo(40), version: nextVersion() }] });
    const outbox = new SetOutbox(s.writer, streams, new SigningKeys(s.writer, 168, 25), "https://revenant.test");
    const set = (jti: string, fields: Partial<SetRow>): SetRow & { version: number } => ({
      stream_id: stream.stream_id, jti, txn: "rev-held", event_type: "test", subject: jti, set_jwt: "a.b.c", created_at: hoursAgo(30), state: "pending",
      attempts: 0, next_attempt_at: hoursAgo(30), first_attempt_at: null, delivered_at: null, last_status_code: null, last_error: "", version: nextVersion(), ...fields,
    });
    const write = (rows: (SetRow & { version: number })[]) => s.writer.insert({ table: "transmitter_sets", format: "JSONEachRow", values: rows });
    const states = async () =>
      Object.fromEntries(
        (await queryRows<{ jti: string; state: string; attempts: number }>(s.reader, "test", "SELECT jti, state, attempts FROM transmitter_sets FINAL ORDER BY jti"))
          .map((r) => [r.jti, `${r.state} ${r.attempts}`]),
      );
    // Held 30 hours by the paused stream, never attempted; and one from before first attempts
    // were recorded, already retried: that one still counts from its recording.
    await write([set("held", {}), set("legacy", { attempts: 3 })]);

    const push = new PushDelivery(cfg, streams, outbox);
    push.start();
    try {
      await eventually(async () => (await states()).held === "pending 1" && (await states()).legacy === "failed 4", 10_000, "one pass over both");
      expect(received).toBe(2);
      const [held] = await queryRows<{ first_attempt_at: string }>(s.reader, "test", "SELECT first_attempt_at FROM transmitter_sets FINAL WHERE jti = 'held'");
      expect(Date.now() - Date.parse(held.first_attempt_at)).toBeLessThan(60_000);

      // Its first attempt 25 hours ago, the stream unchanged since: past the window, the next refusal fails it for good.
      await write([set("held", { attempts: 5, first_attempt_at: hoursAgo(25), next_attempt_at: hoursAgo(0) })]);
      await eventually(async () => (await states()).held === "failed 6", 10_000, "the expired SET failed");

      // Attempted 30 hours ago, then the stream was paused, and it is enabled again now: retried.
      await streams.put({ ...stream, status: "enabled" });
      await write([set("before-pause", { attempts: 2, first_attempt_at: hoursAgo(30), next_attempt_at: hoursAgo(0) })]);
      await eventually(async () => (await states())["before-pause"] === "pending 3", 10_000, "the SET retried after the pause");
    } finally {
      await push.stop();
    }
  });
});
