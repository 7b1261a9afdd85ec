/**
 * The covered-credentials feed (lib/feed/publisher.ts) through the real pipeline: events on
 * Kafka → worker → ClickHouse → detection → the compacted feed topic, read back by a kafkajs
 * consumer as an enforcement point would. After revocations, cascade growth (delegated
 * credentials issued after the revocation) and reinstatements, the deny-set read from the
 * topic equals the credentials the coverage table covers with an open window, and the
 * credentials the scenario says are revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Producer } from "kafkajs";
import { config, resetConfig } from "@/lib/config";
import { closeStore, queryRows, store } from "@/lib/store/clickhouse";
import { startWorker, type Worker } from "@/ingest/worker";
import { credentialStatuses } from "@/lib/feed/status";
import { mirrorReady, stopMirror } from "@/lib/feed/lookup";
import { readFeed, readFeedToEnd, type FeedReader } from "../helpers/feed";
import { configureTestStack, eventually, produceJson, testProducer, waitUntilConsumed } from "../helpers/stack";

const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, s)).toISOString();
let n = 0;
const id = (p: string) => `${p}-${++n}`;
const issued = (agent: string, cred: string, parent: string | undefined, s: number) => ({
  event_id: id("iss"), type: "credential_issued", time: at(s), agent_id: agent, credential: { id: cred, kind: "oauth_token", ...(parent ? { parent_id: parent } : {}) },
});
const acted = (agent: string, cred: string, s: number) => ({
  event_id: id("act"), type: "action", time: at(s), agent_id: agent, credential_id: cred, layer: "tool", action: "execute_tool", decision: "allow",
});
const revoke = (eventId: string, scope: string, subject: string, s: number) => ({
  event_id: eventId, type: "revocation", time: at(s), revocation: { scope, subject, cascade: true, reason: "test", initiated_by: "test" },
});
const reinstate = (scope: string, subject: string, s: number) => ({
  event_id: id("rein"), type: "reinstatement", time: at(s), revocation: { scope, subject },
});

/** The coverage table's answer: credential keys with at least one open window. */
async function coveredInStore(): Promise<string[]> {
  const rows = await queryRows<{ key: string }>(store().reader, "test",
    `SELECT DISTINCT key FROM coverage FINAL WHERE key_kind = 'credential' AND (reinstated_at IS NULL OR reinstated_at > now64(3)) ORDER BY key`);
  return rows.map((r) => r.key);
}
const sorted = (m: Map<string, unknown>) => [...m.keys()].sort();

describe("covered-credentials feed", () => {
  let producer: Producer;
  let worker: Worker;
  let feed: FeedReader;
  let sent = 0;
  const send = async (events: unknown[]) => {
    await produceJson(producer, config().KAFKA_TOPIC, events);
    sent += events.length;
  };

  beforeAll(async () => {
    const stack = configureTestStack({ INGEST_FLUSH_MS: "20" });
    process.env.KAFKA_FEED_TOPIC = `${stack.topic}.covered`;
    resetConfig();
    producer = await testProducer();
    worker = await startWorker();
    feed = await readFeed();
  });
  afterAll(async () => {
    await stopMirror();
    await feed?.stop();
    await worker?.stop();
    await producer?.disconnect();
    await closeStore();
  });

  it("is a compacted topic, also when it existed uncompacted before", async () => {
    const { createKafka } = await import("@/lib/kafka");
    const { ensureFeedTopic } = await import("@/lib/feed/publisher");
    const kafka = createKafka(config(), "-test-admin");
    const admin = kafka.admin();
    await admin.connect();
    const policy = async (topic: string) =>
      (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ["cleanup.policy"] }] })).resources[0].configEntries[0].configValue;
    expect(await policy(config().KAFKA_FEED_TOPIC)).toBe("compact");
    const other = `${config().KAFKA_FEED_TOPIC}.precreated`;
    await admin.createTopics({ topics: [{ topic: other, numPartitions: 1 }], waitForLeaders: true });
    expect(await policy(other)).toBe("delete");
    await ensureFeedTopic(kafka, other, 1);
    expect(await policy(other)).toBe("compact");
    await admin.disconnect();
  });

  it("holds the deny-set after revocations, cascade growth and reinstatements", async () => {
    // Before: an orchestrator with a root token, delegated to a sub-agent; the root token also
    // presented by another agent (a copy); two unrelated principals.
    await send([
      issued("orch", "tok-orch", undefined, 1), issued("sub-a", "tok-a", "tok-orch", 2), acted("copycat", "tok-orch", 3),
      issued("svc", "key-svc", undefined, 1), issued("bob", "tok-bob", undefined, 1), issued("alice", "tok-alice", undefined, 1),
    ]);
    await waitUntilConsumed(sent);
    expect(feed.denySet.size).toBe(0);

    const produced = Date.now();
    await send([revoke("rev-orch", "agent", "orch", 10), revoke("rev-svc", "credential", "key-svc", 10), revoke("rev-bob", "agent", "bob", 10)]);
    await eventually(async () => sorted(feed.denySet).join() === "key-svc,tok-a,tok-bob,tok-orch", 30_000, "the revoked credentials on the feed");
    const latency = Math.max(...["tok-orch", "tok-a", "key-svc", "tok-bob"].map((k) => feed.seenAt.get(k)!)) - produced;
    console.log(`feed: revocation produced → all 4 covered credentials on the feed in ${latency} ms`);
    await waitUntilConsumed(sent);
    expect(sorted(feed.denySet)).toEqual(await coveredInStore());
    expect(feed.denySet.get("tok-a")).toEqual({
      credential_id: "tok-a", covered: true, revocations: [{ event_id: "rev-orch", scope: "agent", subject: "orch", since: at(10), via: "cascade" }],
    });
    expect(feed.denySet.get("key-svc")!.revocations).toMatchObject([{ event_id: "rev-svc", scope: "credential", via: "direct" }]);

    // Cascade growth: a sub-agent exchanges the delegated token after the revocation, twice down.
    const grown = Date.now();
    await send([issued("sub-b", "tok-b", "tok-a", 20), issued("sub-c", "tok-c", "tok-b", 21), acted("sub-c", "tok-c", 22)]);
    await eventually(async () => feed.denySet.has("tok-b") && feed.denySet.has("tok-c"), 30_000, "descendants issued after the revocation");
    console.log(`feed: child credentials issued → on the feed in ${Math.max(feed.seenAt.get("tok-b")!, feed.seenAt.get("tok-c")!) - grown} ms`);
    await waitUntilConsumed(sent);
    expect(sorted(feed.denySet)).toEqual(["key-svc", "tok-a", "tok-b", "tok-bob", "tok-c", "tok-orch"]);
    expect(sorted(feed.denySet)).toEqual(await coveredInStore());

    // Reinstatements end coverage: bob's token and the service key leave the deny-set.
    await send([reinstate("agent", "bob", 30), reinstate("credential", "key-svc", 31)]);
    await eventually(async () => !feed.denySet.has("tok-bob") && !feed.denySet.has("key-svc"), 30_000, "reinstated credentials leaving the feed");
    await waitUntilConsumed(sent);
    expect(sorted(feed.denySet)).toEqual(["tok-a", "tok-b", "tok-c", "tok-orch"]);
    expect(sorted(feed.denySet)).toEqual(await coveredInStore());

    // A second revocation of a credential that is already covered: both revocations listed.
    await send([revoke("rev-orch-2", "credential", "tok-orch", 40)]);
    await eventually(async () => feed.denySet.get("tok-orch")?.revocations.length === 2, 30_000, "two revocations of tok-orch");
    expect(feed.denySet.get("tok-orch")!.revocations.map((r) => [r.event_id, r.via])).toEqual([["rev-orch", "cascade"], ["rev-orch-2", "direct"]]);

    // A fresh enforcement point reading the topic from the start gets the same deny-set.
    await waitUntilConsumed(sent);
    const fresh = await readFeedToEnd();
    expect(sorted(fresh)).toEqual(await coveredInStore());
    expect(sorted(fresh)).toEqual(["tok-a", "tok-b", "tok-c", "tok-orch"]);
  });

  it("answers the status lookup as the feed says, one id or many", async () => {
    const { ApiKeyStore } = await import("@/lib/auth/keys");
    const one = (await import("@/app/api/v1/credentials/[id]/status/route")).GET;
    const many = (await import("@/app/api/v1/credentials/status/route")).POST;
    const key = (await new ApiKeyStore(store().reader, store().writer).create({ name: "gateway", role: "enforcer", createdBy: "test" })).key;
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const fromFeed = await readFeedToEnd();
    const ids = ["tok-orch", "tok-a", "tok-b", "tok-c", "tok-bob", "key-svc", "tok-alice", "never-seen"];
    const fromCoverage = await credentialStatuses(store().reader, ids);
    // The first lookups read coverage while the mirror catches up; later ones read the mirror. Both agree with the feed.
    const sources = new Set<string>();
    for (const pass of [0, 1]) {
      if (pass === 1) expect(await mirrorReady()).toBe(true);
      for (const [i, id] of ids.entries()) {
        const res = await one(new Request(`http://localhost/api/v1/credentials/${encodeURIComponent(id)}/status`, { headers }), { params: Promise.resolve({ id }) });
        expect(res.status).toBe(200);
        sources.add(res.headers.get("x-revenant-source")!);
        const body = await res.json();
        expect(body, id).toEqual(fromFeed.get(id) ?? { credential_id: id, covered: false, revocations: [] });
        expect(body, id).toEqual(fromCoverage[i]);
      }
      const res = await many(new Request("http://localhost/api/v1/credentials/status", { method: "POST", headers, body: JSON.stringify({ ids }) }));
      const { items } = await res.json();
      expect(items).toEqual(fromCoverage);
      if (pass === 1) expect(res.headers.get("x-revenant-source")).toBe("feed");
    }
    expect(sources).toContain("coverage");
    expect(sources).toContain("feed");
    const tooMany = await many(new Request("http://localhost/api/v1/credentials/status", { method: "POST", headers, body: JSON.stringify({ ids: Array.from({ length: 1001 }, (_, i) => `c${i}`) }) }));
    expect(tooMany.status).toBe(400);
    const longId = "x".repeat(257);
    const tooLong = await one(new Request(`http://localhost/api/v1/credentials/${longId}/status`, { headers }), { params: Promise.resolve({ id: longId }) });
    expect(tooLong.status).toBe(400);
    expect((await tooLong.json()).error).toMatchObject({ code: "invalid_parameter", param: "id" });
  });

  it("republishes the current deny-set when the worker restarts, with no stale key", async () => {
    await worker.stop();
    worker = await startWorker();
    const after = await readFeedToEnd();
    expect(sorted(after)).toEqual(["tok-a", "tok-b", "tok-c", "tok-orch"]);

    // The lookup's in-memory copy keeps following the feed: a new revocation shows there too.
    const { ApiKeyStore } = await import("@/lib/auth/keys");
    const one = (await import("@/app/api/v1/credentials/[id]/status/route")).GET;
    const key = (await new ApiKeyStore(store().reader, store().writer).create({ name: "gateway-2", role: "enforcer", createdBy: "test" })).key;
    await send([revoke("rev-alice", "credential", "tok-alice", 50)]);
    const seen = await eventually(async () => {
      const res = await one(new Request("http://localhost/api/v1/credentials/tok-alice/status", { headers: { authorization: `Bearer ${key}` } }), { params: Promise.resolve({ id: "tok-alice" }) });
      const body = await res.json();
      return body.covered ? { body, source: res.headers.get("x-revenant-source") } : null;
    }, 30_000, "tok-alice covered in the lookup");
    expect(seen!.source).toBe("feed");
    expect(seen!.body.revocations).toMatchObject([{ event_id: "rev-alice", via: "direct" }]);
  });

  it("keeps a credential covered until a reinstatement dated ahead comes due, on the feed and in the lookup", async () => {
    const { lookupStatuses } = await import("@/lib/feed/lookup");
    await send([issued("zed", "tok-zed", undefined, 1), revoke("rev-zed", "agent", "zed", 60)]);
    await eventually(async () => feed.denySet.has("tok-zed"), 30_000, "tok-zed on the feed");
    // Reinstated as of a few seconds from now (an event may be dated up to 24 h ahead): detection
    // counts zed's actions until then as post-revocation, so the gateway must still deny them.
    // 15 s: time for a slow host to store it, check every answer and restart the worker before it.
    const due = Date.now() + 15_000;
    await send([{ event_id: id("rein"), type: "reinstatement", time: new Date(due).toISOString(), revocation: { scope: "agent", subject: "zed" } }]);
    await waitUntilConsumed(sent);
    expect(Date.now(), "the reinstatement was stored before its time").toBeLessThan(due);
    expect((await credentialStatuses(store().reader, ["tok-zed"]))[0]).toMatchObject({ covered: true, revocations: [{ event_id: "rev-zed" }] });
    expect(feed.denySet.has("tok-zed")).toBe(true);
    expect((await lookupStatuses(["tok-zed"])).statuses[0].covered).toBe(true);
    // A worker started meanwhile learns of the pending end from its start-up resync.
    await worker.stop();
    worker = await startWorker();

    // Its time come, the credential leaves the feed (a tombstone) and the lookup, without another event.
    await eventually(async () => !feed.denySet.has("tok-zed"), 60_000, "tok-zed off the feed once the reinstatement came due");
    expect(feed.seenAt.get("tok-zed")!).toBeGreaterThanOrEqual(due);
    expect((await credentialStatuses(store().reader, ["tok-zed"]))[0]).toEqual({ credential_id: "tok-zed", covered: false, revocations: [] });
    expect(await lookupStatuses(["tok-zed"])).toEqual({ source: "feed", statuses: [{ credential_id: "tok-zed", covered: false, revocations: [] }] });
    expect(sorted(await readFeedToEnd())).toEqual(await coveredInStore());
  }, 120_000);

  it("answers a key whose feed value is not a credential status from coverage, and every other key from the feed", async () => {
    const { lookupStatuses } = await import("@/lib/feed/lookup");
    expect(await mirrorReady()).toBe(true);
    await send([issued("yan", "tok-yan", undefined, 1), revoke("rev-yan", "agent", "yan", 60)]);
    await eventually(async () => (await lookupStatuses(["tok-yan"])).statuses[0].covered, 30_000, "tok-yan covered on the feed");
    // A producer other than Revenant writes a value of the wrong shape under tok-yan's key.
    await producer.send({ topic: config().KAFKA_FEED_TOPIC, messages: [{ key: "tok-yan", value: JSON.stringify({ credential_id: "tok-yan", covered: "no" }) }] });
    const answered = await eventually(async () => {
      const lookup = await lookupStatuses(["tok-yan"]);
      return lookup.source === "coverage" ? lookup : null;
    }, 30_000, "tok-yan's lookups moved to coverage");
    // Coverage's answer, not the foreign value's: still covered by rev-yan.
    expect(answered!.statuses[0]).toMatchObject({ covered: true, revocations: [{ event_id: "rev-yan" }] });
    expect((await lookupStatuses(["tok-zed"])).source).toBe("feed");
    expect((await lookupStatuses(["tok-zed", "tok-yan"])).source).toBe("coverage");
    // The worker's next publish of tok-yan (its coverage changes: reinstated) makes it readable again.
    await send([reinstate("agent", "yan", 90)]);
    const back = await eventually(async () => {
      const lookup = await lookupStatuses(["tok-yan"]);
      return lookup.source === "feed" ? lookup : null;
    }, 30_000, "tok-yan's lookups back on the feed");
    expect(back!.statuses[0]).toEqual({ credential_id: "tok-yan", covered: false, revocations: [] });
  });
});
