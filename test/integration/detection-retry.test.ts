/**
 * Detection under failure and repetition, against the real embedded engine:
 * - a derivation whose scan fails (a ClickHouse hiccup) is kept and retried, and the alert
 *   appears once the store answers again;
 * - a batch whose evaluation fails is simply evaluated again (what the consumer does before it
 *   commits offsets), and counts come out exact;
 * - publishing (summaries and alerts, off the batch path) that fails is retried, exactly, and
 *   what a crash left unpublished is published after the restart;
 * - a derivation and batch detection hand actions over at the batch's store time, each action
 *   counted once on either side of it;
 * - two detection passes over the same batch at once (two workers, or a redelivery racing the
 *   original), on sessions of their own and both checking for stored pairs before either
 *   appends, give the same pairs, counts and alerts as one pass;
 * - a new revocation with nothing stored after it is committed without a derivation's scan, and
 *   one whose agent acted after it before it arrived is still derived; a covered set that grows
 *   by a credential that never acted after R, or a window that ends before anything covered
 *   acted, keeps its generation, while a credential used after R (a copied secret) or a pair
 *   past the new end (a late reinstatement) is derived; the engine counts what it prepared;
 * - a late revocation's derivation finds the same actions whether its scan reads per kind of
 *   key (few keys) or with one OR across them (many: an agent with 120 delegated credentials);
 * - a revocation whose prepare was cut short after its coverage was written (a failed feed
 *   publish, a crash) is prepared again and derived, on the batch's retry or after a restart;
 * - an engine started on an existing store matches new actions against the coverage stored
 *   before (lib/detection/coverage-memory.ts loads it), and knows the revocations it stored
 *   (lib/detection/state-memory.ts): one delivered again is not prepared a second time.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { temporaryStore } from "../helpers/store";
import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows, type Store } from "@/lib/store/clickhouse";
import { rawInsertOf, registerRawInsert, type RawInsert } from "@/lib/store/verbs";
import { migrate } from "@/lib/store/migrate";
import { validateEvent, type StoredEvent } from "@/lib/events/schema";
import { DetectionEngine } from "@/lib/detection/engine";
import type { AlertHistoryEntry } from "@/lib/alerts/store";
import { EventWriter } from "@/ingest/event-writer";

function events(wire: Record<string, unknown>[]): StoredEvent[] {
  return wire.map((w) => {
    const r = validateEvent(w);
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  });
}

/**
 * The real client, except that the first `times` queries tagged `comment` (or those whose
 * 1-based call number `times` picks) fail like a dropped connection; an insert so tagged is
 * stored first and then fails, like an answer lost on the way back.
 */
function flakyClient(client: ClickHouseClient, comment: string, times: number | ((call: number) => boolean)): ClickHouseClient {
  let calls = 0;
  const fails = typeof times === "number" ? (call: number) => call <= times : times;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "query") {
        return async (params: Parameters<ClickHouseClient["query"]>[0]) => {
          if (params.clickhouse_settings?.log_comment === comment && fails(++calls)) throw new Error("socket hang up");
          return target.query(params);
        };
      }
      if (prop === "insert") {
        return async (params: Parameters<ClickHouseClient["insert"]>[0]) => {
          const result = await target.insert(params);
          if (params.clickhouse_settings?.log_comment === comment && fails(++calls)) throw new Error("socket hang up");
          return result;
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** How long each pass's session sleeps where the passes meet: together, not one after the other. */
const MEETING_SLEEP_MS = 1_500;

/**
 * Clients for passes that must interleave: once armed, the first query tagged `comment` of each
 * pass returns only when every pass's has returned (so all of them read the table before any of
 * them writes what follows; one left alone goes on after 10 s). There, each pass's session
 * sleeps MEETING_SLEEP_MS at once: on sessions of their own the sleeps overlap (together about
 * one sleep, whatever the machine's load: sleeping takes no CPU), on one shared session they
 * queue (at least two sleeps). `meetingMs` is how long they took together.
 */
function interleaving(passes: string[], comment: string) {
  let armed = false;
  let meetingMs: number | null = null;
  const sessions = new Map<string, ClickHouseClient>();
  const arrived = new Set<string>();
  const releases: (() => void)[] = [];
  const meet = async (pass: string) => {
    arrived.add(pass);
    const released = new Promise<void>((resolve) => releases.push(resolve));
    // A pass that never asks must not hang the other: it goes on alone, and met() says so.
    if (arrived.size === 1) setTimeout(() => releases.forEach((release) => release()), 10_000).unref();
    if (passes.every((p) => arrived.has(p))) {
      const started = performance.now();
      await Promise.all(passes.map((p) => queryRows(sessions.get(p)!, "test:meeting", `SELECT sleep(${MEETING_SLEEP_MS / 1000})`)));
      meetingMs = performance.now() - started;
      for (const release of releases) release();
    }
    await released;
  };
  return {
    arm: () => {
      armed = true;
    },
    met: () => passes.every((p) => arrived.has(p)),
    meetingMs: () => meetingMs,
    client(pass: string, client: ClickHouseClient): ClickHouseClient {
      sessions.set(pass, client);
      const proxy = new Proxy(client, {
        get(target, prop, receiver) {
          if (prop === "query") {
            return async (params: Parameters<ClickHouseClient["query"]>[0]) => {
              const result = await target.query(params);
              if (armed && params.clickhouse_settings?.log_comment === comment && !arrived.has(pass)) await meet(pass);
              return result;
            };
          }
          return Reflect.get(target, prop, receiver);
        },
      });
      // Pairs are inserted with the session's raw insert (lib/store/verbs.ts, insertBytes),
      // looked up by client: the proxy gets the session's own, so inserts take the product's path.
      const raw = rawInsertOf(client) as { rawInsert: RawInsert; settings: Record<string, string | number | boolean> } | undefined;
      if (raw) registerRawInsert(proxy, raw.rawInsert, raw.settings);
      return proxy;
    },
  };
}

const SETTINGS = { graceMs: 0, layerGraceMs: {} };
const TABLES = ["events", "event_first_copies", "event_conflicts", "credential_presence", "credential_lineage", "revocation_events", "post_revocation_actions",
  "revocation_status", "alerts", "alert_history", "coverage", "revocation_state", "revocation_counters"];

describe("detection retries what failed and counts repeated passes once", () => {
  const s: Store = temporaryStore("retry");
  afterAll(async () => s.close());
  beforeEach(async () => {
    await migrate(s.writer);
    for (const t of TABLES) await s.writer.command({ query: `TRUNCATE TABLE IF EXISTS ${t}` });
  });

  async function store(batch: StoredEvent[]): Promise<void> {
    await new EventWriter(s.writer).write(batch.map((e, i) => ({ ...e, kafka_partition: 0, kafka_offset: String(i) })));
  }

  const alerts = () =>
    queryRows<{ rule: string; agent_id: string; violation_count: number }>(s.reader, "test", "SELECT rule, agent_id, violation_count FROM alerts FINAL ORDER BY rule, agent_id");

  const revocationAndActions = (n: number) =>
    events([
      { event_id: "r-rev", type: "revocation", time: "2026-01-01T00:00:00Z", revocation: { scope: "agent", subject: "r-agent" } },
      ...Array.from({ length: n }, (_, i) => ({
        event_id: `r-act-${i}`, type: "action", time: `2026-01-01T00:00:0${i + 1}Z`, agent_id: "r-agent", layer: "tool", action: "execute_tool", decision: "allow",
      })),
    ]);

  it("keeps a revocation whose derivation failed and derives it on retry", async () => {
    const batch = revocationAndActions(1);
    await store(batch);
    // The action was stored before the revocation was known: only the derivation's scan finds it.
    const engine = new DetectionEngine(flakyClient(s.writer, "detection:derive:scan", 2), SETTINGS);
    await engine.start();
    await engine.onEvents(batch.slice(0, 1));
    await engine.idle();
    expect(engine.failedCount()).toBe(1);
    expect(engine.lastError).toMatch(/socket hang up/);
    await engine.retryFailed(); // fails again
    expect(engine.failedCount()).toBe(1);
    expect(await alerts()).toEqual([]);
    await engine.retryFailed(); // the store answers
    expect(engine.failedCount()).toBe(0);
    expect(engine.lastError).toBeNull();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 1 }]);
    await engine.stop();
  });

  it("evaluates a batch again after a failure without counting anything twice", async () => {
    const batch = revocationAndActions(3);
    await store(batch.slice(0, 1));
    // The sole-writer shortcut is on: a retry must not trust "first stored by this batch".
    const engine = new DetectionEngine(flakyClient(s.writer, "detection:pairs:append", 1), SETTINGS, undefined, { soleWriter: true });
    await engine.start();
    await engine.onEvents(batch.slice(0, 1));
    await engine.idle();
    const storedAt = Date.now();
    await store(batch.slice(1));
    const fresh = batch.slice(1).map((e) => ({ ...e, stored_before: false }));
    // The pairs of the first two actions are stored, then the answer is lost: the batch is not done.
    await expect(engine.onEvents(fresh.slice(0, 2), { storedAt })).rejects.toThrow(/socket hang up/);
    // The retry matches one pair more (as when coverage changed in between), so its insert is
    // not the same block again: only asking the table keeps the first two from counting twice.
    await engine.onEvents(fresh, { storedAt });
    await engine.idle();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 3 }]);
    await engine.stop();
  });

  it("publishes alerts again after publishing failed, with exact counts", async () => {
    const batch = revocationAndActions(2);
    await store(batch.slice(0, 1));
    const first = new DetectionEngine(s.writer, SETTINGS);
    await first.start();
    await first.onEvents(batch.slice(0, 1)); // the revocation is known and derived
    await first.idle();
    await first.stop();
    await store(batch.slice(1));
    const engine = new DetectionEngine(s.writer, SETTINGS, undefined, { publisher: flakyClient(s.writer, "detection:counters", 1) });
    await engine.start();
    await engine.onEvents(batch.slice(1)); // the pairs are stored: the batch is done
    await engine.idle(); // reading the counters fails: nothing is published yet
    expect(engine.lastError).toMatch(/socket hang up/);
    expect(await alerts()).toEqual([]);
    await engine.retryFailed();
    expect(engine.lastError).toBeNull();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 2 }]);
    await engine.stop();
  });

  it("publishes after a restart what a crash left unpublished", async () => {
    const batch = revocationAndActions(2);
    await store(batch.slice(0, 1));
    const crashed = new DetectionEngine(s.writer, SETTINGS, undefined, { publishGatherMs: 60_000 });
    await crashed.start();
    await crashed.onEvents(batch.slice(0, 1));
    await crashed.idle();
    await store(batch.slice(1));
    // The batch is done (its offsets would be committed); its publication was still gathering.
    await crashed.onEvents(batch.slice(1));
    expect(await alerts()).toEqual([]);
    const restarted = new DetectionEngine(s.writer, SETTINGS);
    await restarted.start();
    await restarted.idle();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 2 }]);
    await restarted.stop();
    await crashed.stop();
  });

  it("finds after a restart the coverage an earlier run wrote (the sole writer holds it in memory)", async () => {
    const batch = revocationAndActions(2);
    await store(batch.slice(0, 1));
    const first = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await first.start();
    await first.onEvents(batch.slice(0, 1), { storedAt: Date.now() }); // writes the revocation's coverage
    await first.idle();
    await first.stop();
    // A new process: the actions of the revoked agent are matched against the coverage it loads.
    const restarted = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await restarted.start();
    await store(batch.slice(1));
    await restarted.onEvents(batch.slice(1).map((e) => ({ ...e, stored_before: false })), { storedAt: Date.now() });
    await restarted.idle();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 2 }]);
    await restarted.stop();
  });

  // A derivation asked for by a batch takes the actions stored before that batch's store began;
  // the batch itself and later ones take the rest (lib/detection/engine.ts, soleWriter). Both
  // tests run with that shortcut, and each fails if its half of the hand-over is missing.
  it("leaves actions stored after the revocation's batch to their own batch, counting each once", async () => {
    const batch = revocationAndActions(3);
    const engine = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await engine.start();
    const storedAt = Date.now();
    await new Promise((r) => setTimeout(r, 5)); // the actions are stored after that instant
    await store(batch.slice(0, 3));
    // The revocation's derivation runs first; the two actions already in the table were stored
    // after its batch's store began, so it leaves them to their batch...
    await engine.onEvents(batch.slice(0, 1), { storedAt });
    await engine.idle();
    await store(batch.slice(3));
    // ...which, first stored by a batch after the revocation's, appends them without asking.
    await engine.onEvents(batch.slice(1).map((e) => ({ ...e, stored_before: false })), { storedAt: storedAt + 1 });
    await engine.idle();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 3 }]);
    await engine.stop();
  });

  it("counts once an action stored before the revocation's batch but evaluated after its derivation", async () => {
    const batch = revocationAndActions(3);
    const engine = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    const actionsStoredAt = Date.now();
    await store(batch.slice(1));
    // Started after they were stored (by a process before it, say), the engine takes them as
    // acting as late as the latest stored time, so the revocation is derived.
    await engine.start();
    await new Promise((r) => setTimeout(r, 5));
    const revocationStoredAt = Date.now();
    await store(batch.slice(0, 1));
    // The derivation takes the three actions (stored before the revocation's batch) and commits them...
    await engine.onEvents(batch.slice(0, 1), { storedAt: revocationStoredAt });
    await engine.idle();
    // ...then an earlier batch with two of them is evaluated: the table is asked, nothing doubles.
    // (Its pairs differ from the derivation's, so the insert token alone would not catch it.)
    await engine.onEvents(batch.slice(1, 3).map((e) => ({ ...e, stored_before: false })), { storedAt: actionsStoredAt });
    await engine.idle();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 3 }]);
    await engine.stop();
  });

  it("gives the same result when two passes over one batch interleave on sessions of their own", async () => {
    const batch = [
      ...revocationAndActions(0),
      ...events(Array.from({ length: 4 }, (_, i) => ({
        event_id: `i-act-${i}`, type: "action", time: `2026-01-01T00:01:0${i}Z`, agent_id: "r-agent", layer: i % 2 ? "gateway" : "tool",
        action: "execute_tool", decision: i % 2 ? "deny" : "allow",
      }))),
    ];
    // Each pass on its own sessions of the store, as two workers (or a redelivery racing the
    // original) would be: on one shared session their statements would only queue one after
    // the other. The passes are made to meet at the worst point: both have asked which of their
    // pairs are stored, and found none, before either appends them.
    const meeting = interleaving(["first", "second"], "detection:pairs:stored");
    await store(batch.slice(0, 1));
    const first = new DetectionEngine(meeting.client("first", s.detector), SETTINGS, undefined, { publisher: s.publisher, scanner: s.scanner });
    await first.start();
    await first.onEvents(batch.slice(0, 1)); // the revocation is known and derived
    await first.idle();
    await store(batch.slice(1));
    const second = new DetectionEngine(meeting.client("second", s.writer), SETTINGS);
    await second.start();
    meeting.arm();
    await Promise.all([first.onEvents(batch.slice(1)), second.onEvents(batch.slice(1))]);
    await Promise.all([first.idle(), second.idle()]);
    expect(meeting.met(), "both passes checked their pairs before either appended").toBe(true);
    expect(meeting.meetingMs(), "the passes' sessions ran statements at the same time").toBeLessThan(2 * MEETING_SLEEP_MS);
    const status = await queryRows<{ containment: string; violation_count: number; blocked_count: number }>(
      s.reader, "test", "SELECT containment, violation_count, blocked_count FROM revocation_status FINAL");
    expect(status).toEqual([{ containment: "partial", violation_count: 2, blocked_count: 2 }]);
    expect(await alerts()).toEqual([
      { rule: "partial_containment", agent_id: null, violation_count: 2 },
      { rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 2 },
    ]);
    const pairs = await queryRows<{ n: number }>(s.reader, "test", "SELECT count() AS n FROM post_revocation_actions FINAL");
    expect(Number(pairs[0].n)).toBe(4);
    // The counters the summaries and alerts are published from (revocation_counters, by
    // materialized view from the pair inserts) counted each pair once, not once per pass.
    const counters = await queryRows<{ violations: number; blocked: number }>(s.reader, "test",
      "SELECT sum(violations) AS violations, sum(blocked) AS blocked FROM revocation_counters WHERE revocation_id = 'r-rev'");
    expect(counters.map((c) => ({ violations: Number(c.violations), blocked: Number(c.blocked) }))).toEqual([{ violations: 2, blocked: 2 }]);
    await first.stop();
    await second.stop();
  });

  // A new revocation with no stored action after it on anything it covers has nothing for a
  // derivation's scan to find, and is committed without one (lib/detection/latest-actions.ts);
  // one whose subject acted after it before it arrived is still scanned for.
  it("commits a live revocation without a scan, and still scans for one whose agent acted after it before it arrived", async () => {
    const engine = new DetectionEngine(flakyClient(s.writer, "detection:derive:scan", 1), SETTINGS, undefined, { soleWriter: true });
    await engine.start();
    const act = (id: string, agent: string, second: number) =>
      ({ event_id: id, type: "action", time: `2026-01-01T00:00:${String(second).padStart(2, "0")}Z`, agent_id: agent, layer: "tool", action: "execute_tool", decision: "allow" });
    const revoke = (id: string, agent: string, second: number) =>
      ({ event_id: id, type: "revocation", time: `2026-01-01T00:00:${String(second).padStart(2, "0")}Z`, revocation: { scope: "agent", subject: agent } });
    // First batch: the live agent acts before its revocation, the other one after its (not yet known) revocation.
    const first = events([act("l-act-0", "l-agent", 1), act("k-act-0", "k-agent", 30)]);
    await store(first);
    await engine.onEvents(first, { storedAt: Date.now() });
    await engine.idle();
    const storedAt = Date.now();
    const second = events([revoke("l-rev", "l-agent", 10), act("l-act-1", "l-agent", 20), revoke("k-rev", "k-agent", 5)]);
    await store(second);
    await engine.onEvents(second, { storedAt });
    await engine.idle();
    // Only k-rev was derived (its scan failed once): l-rev's alert needed no scan.
    expect(engine.failedCount()).toBe(1);
    expect(engine.preparedCounts()).toEqual({ committedAtOnce: { new: 1, reinstated: 0, grown: 0, repaired: 0 }, derived: { new: 1, reinstated: 0, grown: 0, repaired: 0 } });
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "l-agent", violation_count: 1 }]);
    await engine.retryFailed();
    expect(engine.failedCount()).toBe(0);
    expect(await alerts()).toEqual([
      { rule: "post_revocation_activity", agent_id: "k-agent", violation_count: 1 },
      { rule: "post_revocation_activity", agent_id: "l-agent", violation_count: 1 },
    ]);
    await engine.stop();
  });

  /** A batch stored and evaluated as the pipeline does (store time taken before the store). */
  async function storeAndEvaluate(engine: DetectionEngine, wire: Record<string, unknown>[]): Promise<void> {
    const batch = events(wire);
    const storedAt = Date.now();
    await store(batch);
    await engine.onEvents(batch, { storedAt });
    await engine.idle();
  }

  /** A sole-writer engine, and its storeAndEvaluate. */
  async function soleWriter() {
    const engine = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await engine.start();
    return { engine, evaluate: (wire: Record<string, unknown>[]) => storeAndEvaluate(engine, wire) };
  }

  const pairs = () =>
    queryRows<{ event_id: string; via: string }>(s.reader, "test", "SELECT event_id, via FROM post_revocation_actions FINAL WHERE is_deleted = 0 ORDER BY event_id");

  it("keeps a revocation's generation when its covered set grows by a credential that never acted after R, or its window ends before anything it covers acted, and counts what it prepared", async () => {
    const { engine, evaluate } = await soleWriter();
    // Live: nothing stored after it.
    await evaluate([{ event_id: "g-rev", type: "revocation", time: "2026-01-01T00:00:00Z", revocation: { scope: "agent", subject: "g-agent" } }]);
    // The revoked agent presents a credential the revocation does not cover yet: its covered
    // set grows by a credential that never acted before, so nothing is owed for it.
    await evaluate([{ event_id: "g-act", type: "action", time: "2026-01-01T00:00:05Z", agent_id: "g-agent", credential_id: "g-tok", layer: "tool", action: "execute_tool", decision: "allow" }]);
    // Another agent uses the credential the revoked agent now covers: a pair through it.
    await evaluate([{ event_id: "h-act", type: "action", time: "2026-01-01T00:00:07Z", agent_id: "h-agent", credential_id: "g-tok", layer: "tool", action: "execute_tool", decision: "allow" }]);
    // A reinstatement ends the window after the last covered action: every stored pair stays.
    await evaluate([{ event_id: "g-back", type: "reinstatement", time: "2026-01-01T00:00:10Z", revocation: { scope: "agent", subject: "g-agent" } }]);
    // After the window's end: no pair.
    await evaluate([{ event_id: "g-after", type: "action", time: "2026-01-01T00:00:12Z", agent_id: "g-agent", credential_id: "g-tok", layer: "tool", action: "execute_tool", decision: "allow" }]);
    expect(await pairs()).toEqual([
      { event_id: "g-act", via: "direct" },
      { event_id: "h-act", via: "cascade" },
    ]);
    expect(engine.preparedCounts()).toEqual({ committedAtOnce: { new: 1, reinstated: 1, grown: 1, repaired: 0 }, derived: { new: 0, reinstated: 0, grown: 0, repaired: 0 } });
    expect(await alerts()).toEqual([
      { rule: "delegated_authority_leak", agent_id: "h-agent", violation_count: 1 },
      { rule: "post_revocation_activity", agent_id: "g-agent", violation_count: 1 },
    ]);
    await engine.stop();
  });

  it("derives a revocation whose window ends before covered actions it already counted (a late reinstatement)", async () => {
    const { engine, evaluate } = await soleWriter();
    await evaluate([{ event_id: "r-rev", type: "revocation", time: "2026-01-01T00:00:00Z", revocation: { scope: "agent", subject: "r-agent" } }]);
    await evaluate([
      { event_id: "r-act-05", type: "action", time: "2026-01-01T00:00:05Z", agent_id: "r-agent", layer: "tool", action: "execute_tool", decision: "allow" },
      { event_id: "r-act-15", type: "action", time: "2026-01-01T00:00:15Z", agent_id: "r-agent", layer: "tool", action: "execute_tool", decision: "allow" },
    ]);
    expect((await pairs()).map((p) => p.event_id)).toEqual(["r-act-05", "r-act-15"]);
    // The reinstatement at :10 arrives after the action at :15 was counted: that pair goes.
    await evaluate([{ event_id: "r-back", type: "reinstatement", time: "2026-01-01T00:00:10Z", revocation: { scope: "agent", subject: "r-agent" } }]);
    expect(await pairs()).toEqual([{ event_id: "r-act-05", via: "direct" }]);
    expect(engine.preparedCounts()).toEqual({ committedAtOnce: { new: 1, reinstated: 0, grown: 0, repaired: 0 }, derived: { new: 0, reinstated: 1, grown: 0, repaired: 0 } });
    await engine.stop();
  });

  it("derives a grown covered set when a credential it gains acted after R before it was covered (a copied secret)", async () => {
    const { engine, evaluate } = await soleWriter();
    await evaluate([{ event_id: "c-rev", type: "revocation", time: "2026-01-01T00:00:00Z", revocation: { scope: "agent", subject: "c-agent" } }]);
    // Another agent uses a credential no revocation covers yet: no pair.
    await evaluate([{ event_id: "h-act", type: "action", time: "2026-01-01T00:00:03Z", agent_id: "h-agent", credential_id: "c-tok", layer: "tool", action: "execute_tool", decision: "allow" }]);
    expect(await pairs()).toEqual([]);
    // The revoked agent presents it: the covered set grows by a credential that acted after R,
    // so the revocation is derived again and the earlier use becomes a pair.
    await evaluate([{ event_id: "c-act", type: "action", time: "2026-01-01T00:00:05Z", agent_id: "c-agent", credential_id: "c-tok", layer: "tool", action: "execute_tool", decision: "allow" }]);
    expect(await pairs()).toEqual([
      { event_id: "c-act", via: "direct" },
      { event_id: "h-act", via: "cascade" },
    ]);
    expect(engine.preparedCounts()).toEqual({ committedAtOnce: { new: 1, reinstated: 0, grown: 0, repaired: 0 }, derived: { new: 0, reinstated: 0, grown: 1, repaired: 0 } });
    await engine.stop();
  });

  // The derivation's scan reads per kind of key while a round has few keys, and with one OR
  // across the kinds once it has many (lib/detection/derivation.ts, scan): both must find the same.
  it.each([3, 120])("finds what a late-revoked agent and the sub-agents holding its %i delegated credentials did", async (children) => {
    const { engine, evaluate } = await soleWriter();
    const at = (second: number) => `2026-01-01T00:00:${String(second).padStart(2, "0")}Z`;
    const act = (id: string, agent: string, credential: string, second: number) =>
      ({ event_id: id, type: "action", time: at(second), agent_id: agent, credential_id: credential, layer: "tool", action: "execute_tool", decision: "allow" });
    await evaluate([
      { event_id: "d-iss-root", type: "credential_issued", time: at(1), agent_id: "d-agent", credential: { id: "d-root", kind: "api_key" } },
      ...Array.from({ length: children }, (_, i) => ({
        event_id: `d-iss-${i}`, type: "credential_issued", time: at(2), agent_id: `d-sub-${i}`, credential: { id: `d-child-${i}`, kind: "oauth_token", parent_id: "d-root" },
      })),
    ]);
    // Everything below acted before the revocation arrived: only the derivation's scan can find it.
    await evaluate([
      act("d-act-before", "d-agent", "d-root", 5), // before R
      act("d-act-root", "d-agent", "d-root", 20),
      act("d-act-child", "d-sub-1", "d-child-1", 30),
      act("d-act-other", "d-other", "d-other-tok", 40), // covered by nothing
      act("d-act-last", `d-sub-${children - 1}`, `d-child-${children - 1}`, 50),
    ]);
    // Covers the agent (direct) and its credential with every delegated child (cascade).
    await evaluate([{ event_id: "d-rev", type: "revocation", time: at(10), revocation: { scope: "agent", subject: "d-agent" } }]);
    expect(engine.preparedCounts().derived.new).toBe(1);
    expect(await pairs()).toEqual([
      { event_id: "d-act-child", via: "cascade" },
      { event_id: "d-act-last", via: "cascade" },
      { event_id: "d-act-root", via: "direct" },
    ]);
    await engine.stop();
  });

  it("does not prepare again a revocation it knows, in the same process or after a restart (the sole writer holds states in memory)", async () => {
    const batch = revocationAndActions(2);
    await store(batch.slice(0, 1));
    const first = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await first.start();
    await first.onEvents(batch.slice(0, 1), { storedAt: Date.now() });
    await first.idle();
    const stateRows = async () =>
      Number((await queryRows<{ n: number }>(s.reader, "test", "SELECT count() AS n FROM revocation_state WHERE revocation_id = 'r-rev'"))[0].n);
    const written = await stateRows();
    // Delivered again to the same process: known from what it wrote.
    await first.onEvents([{ ...batch[0], stored_before: true }], { storedAt: Date.now() });
    await first.idle();
    expect(await stateRows(), "the known revocation was not prepared again").toBe(written);
    await first.stop();
    // A new process gets the revocation again (a redelivery) with the actions after it.
    const restarted = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await restarted.start();
    await store(batch.slice(1));
    await restarted.onEvents([{ ...batch[0], stored_before: true }, ...batch.slice(1).map((e) => ({ ...e, stored_before: false }))], { storedAt: Date.now() });
    await restarted.idle();
    expect(await stateRows(), "the known revocation was not prepared again").toBe(written);
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "r-agent", violation_count: 2 }]);
    await restarted.stop();
  });

  // A prepare writes a revocation's coverage, publishes the feed, then records the state
  // (lib/detection/engine.ts, prepare). Cut short in between, the coverage already names the
  // credential the revocation gained, so the batch delivered again shows no growth: without the
  // repair, the earlier use of the copied secret is never found, the later pairs go to a
  // generation readers never use, and the feed never hears of the credential.
  const copiedSecret = {
    revocation: { event_id: "u-rev", type: "revocation", time: "2026-01-01T00:00:00Z", revocation: { scope: "agent", subject: "u-agent" } },
    // Another agent uses a credential no revocation covers yet: no pair.
    helperUse: { event_id: "u-help", type: "action", time: "2026-01-01T00:00:03Z", agent_id: "u-helper", credential_id: "u-tok", layer: "tool", action: "execute_tool", decision: "allow" },
    // The revoked agent presents it: the revocation's covered set grows by a credential used after R.
    revokedUse: { event_id: "u-act", type: "action", time: "2026-01-01T00:00:05Z", agent_id: "u-agent", credential_id: "u-tok", layer: "tool", action: "execute_tool", decision: "allow" },
  };
  const copiedSecretAlerts = [
    { rule: "delegated_authority_leak", agent_id: "u-helper", violation_count: 1 },
    { rule: "post_revocation_activity", agent_id: "u-agent", violation_count: 1 },
  ];
  const copiedSecretPairs = [
    { event_id: "u-act", via: "direct" },
    { event_id: "u-help", via: "cascade" },
  ];
  /** A feed (onCoverageChanged) that fails with `message` whenever it is told of the copied secret. */
  const feedFailingOnCopiedSecret = (message: string) => async (_ids: string[], credentials: string[]) => {
    if (credentials.includes("u-tok")) throw new Error(message);
  };
  /**
   * Runs the copied-secret story on a started engine up to its last batch, whose prepare the
   * feed fails (`failure`: the error expected); returns that batch, stored.
   */
  async function cutShortOnCopiedSecret(engine: DetectionEngine, failure: RegExp): Promise<StoredEvent[]> {
    for (const e of [copiedSecret.revocation, copiedSecret.helperUse]) await storeAndEvaluate(engine, [e]);
    const batch = events([copiedSecret.revokedUse]);
    await store(batch);
    await expect(engine.onEvents(batch, { storedAt: Date.now() })).rejects.toThrow(failure);
    return batch;
  }

  it.each([true, false])("derives a grown covered set again when its prepare failed after writing the coverage (sole writer: %s)", async (soleWriter) => {
    const published: string[] = [];
    let feedDown = true;
    const engine = new DetectionEngine(s.writer, SETTINGS, undefined, {
      soleWriter,
      onCoverageChanged: async (_ids, credentials) => {
        if (feedDown && credentials.includes("u-tok")) {
          feedDown = false;
          throw new Error("feed: broker not answering");
        }
        published.push(...credentials);
      },
    });
    await engine.start();
    for (const e of [copiedSecret.revocation, copiedSecret.helperUse]) await storeAndEvaluate(engine, [e]);
    const batch = events([copiedSecret.revokedUse]);
    const storedAt = Date.now();
    await store(batch);
    await expect(engine.onEvents(batch, { storedAt })).rejects.toThrow(/broker not answering/);
    await engine.onEvents(batch, { storedAt }); // the consumer retries the batch
    await engine.idle();
    expect(await pairs()).toEqual(copiedSecretPairs);
    expect(await alerts()).toEqual(copiedSecretAlerts);
    expect(published, "the feed is told of the credential the revocation gained").toContain("u-tok");
    expect(engine.preparedCounts().derived.repaired).toBe(1);
    await engine.stop();
  });

  it("repairs after a restart a revocation whose prepare a crash cut short after writing the coverage, then counts the batch delivered again once", async () => {
    const crashed = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true, onCoverageChanged: feedFailingOnCopiedSecret("killed") });
    await crashed.start();
    const batch = await cutShortOnCopiedSecret(crashed, /killed/);
    await crashed.stop(); // the process dies: its offsets were not committed

    const restarted = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await restarted.start();
    // Before any batch arrives, the worker's tick repairs it.
    await restarted.tick();
    await restarted.idle();
    expect(await pairs()).toEqual(copiedSecretPairs);
    expect(await alerts()).toEqual(copiedSecretAlerts);
    // The batch the crash interrupted is delivered again: nothing counts twice.
    await restarted.onEvents(batch.map((e) => ({ ...e, stored_before: true })), { storedAt: Date.now() });
    await restarted.idle();
    expect(await pairs()).toEqual(copiedSecretPairs);
    expect(await alerts()).toEqual(copiedSecretAlerts);
    expect(restarted.preparedCounts().derived.repaired).toBe(1);
    await restarted.stop();
  });

  const act = (id: string, agent: string, second: number, extra: Record<string, unknown> = {}) =>
    ({ event_id: id, type: "action", time: `2026-01-01T00:00:${String(second).padStart(2, "0")}Z`, agent_id: agent, layer: "tool", action: "execute_tool", decision: "allow", ...extra });
  const revokeAgent = (id: string, agent: string, second: number) =>
    ({ event_id: id, type: "revocation", time: `2026-01-01T00:00:${String(second).padStart(2, "0")}Z`, revocation: { scope: "agent", subject: agent } });
  const summaries = async () =>
    (await queryRows<{ event_id: string }>(s.reader, "test", "SELECT event_id FROM revocation_status FINAL ORDER BY event_id")).map((r) => r.event_id);

  it("publishes a revocation committed at once although the rest of its batch failed and was retried", async () => {
    const engine = new DetectionEngine(flakyClient(s.writer, "detection:pairs:append", 1), SETTINGS, undefined, { soleWriter: true });
    await engine.start();
    await storeAndEvaluate(engine, [revokeAgent("w-rev", "w-agent", 0)]);
    // V has nothing stored after it (committed at once); the batch's pair of W is stored, then its answer is lost.
    const batch = events([revokeAgent("v-rev", "v-agent", 10), act("w-act", "w-agent", 20)]);
    const storedAt = Date.now();
    await store(batch);
    await expect(engine.onEvents(batch, { storedAt })).rejects.toThrow(/socket hang up/);
    await engine.onEvents(batch, { storedAt });
    await engine.idle();
    expect(await summaries()).toEqual(["v-rev", "w-rev"]);
    await engine.stop();
  });

  it("publishes a derivation whose commit was stored but answered with an error (shared server)", async () => {
    // The second state write is the derivation's commit: stored, then its answer is lost.
    const engine = new DetectionEngine(flakyClient(s.writer, "detection:state:put", (call) => call === 2), SETTINGS);
    await engine.start();
    await storeAndEvaluate(engine, [act("d-act", "d-agent", 20)]);
    await storeAndEvaluate(engine, [revokeAgent("d-rev", "d-agent", 10)]); // late: derived
    expect(engine.failedCount()).toBe(1);
    await engine.retryFailed();
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "d-agent", violation_count: 1 }]);
    await engine.stop();
  });

  it("takes a repaired revocation's window end from the reinstatements stored, not from its state", async () => {
    let crashOnPublish = false;
    const crashed = new DetectionEngine(s.writer, SETTINGS, undefined, {
      soleWriter: true,
      onCoverageChanged: async () => {
        if (crashOnPublish) throw new Error("killed");
      },
    });
    await crashed.start();
    await storeAndEvaluate(crashed, [revokeAgent("e-rev", "e-agent", 0)]);
    await storeAndEvaluate(crashed, [act("e-act", "e-agent", 5)]);
    expect(await pairs()).toEqual([{ event_id: "e-act", via: "direct" }]);
    // A reinstatement before the action: the pair lies past the new end, so a derivation is owed.
    crashOnPublish = true;
    const reinstatement = events([{ event_id: "e-back", type: "reinstatement", time: "2026-01-01T00:00:03Z", revocation: { scope: "agent", subject: "e-agent" } }]);
    await store(reinstatement);
    await expect(crashed.onEvents(reinstatement, { storedAt: Date.now() })).rejects.toThrow(/killed/);
    await crashed.stop();
    const restarted = new DetectionEngine(s.writer, SETTINGS, undefined, { soleWriter: true });
    await restarted.start();
    await restarted.tick(); // the repair, before the reinstatement is delivered again
    await restarted.idle();
    const [covered] = await queryRows<{ reinstated_at: string | null }>(s.reader, "test", "SELECT reinstated_at FROM coverage FINAL WHERE revocation_id = 'e-rev' AND key_kind = 'agent'");
    expect(covered.reinstated_at).toBe("2026-01-01T00:00:03.000Z");
    expect(await pairs()).toEqual([]);
    await restarted.stop();
  });

  it("keeps announcing owed updates while a repair fails, and says why in lastError", async () => {
    const announced: AlertHistoryEntry[] = [];
    const engine = new DetectionEngine(s.writer, SETTINGS, (changes) => announced.push(...changes), {
      soleWriter: true,
      updateIntervalMs: 5_000,
      onCoverageChanged: feedFailingOnCopiedSecret("feed: broker not answering"),
    });
    await engine.start();
    await storeAndEvaluate(engine, [copiedSecret.revocation]);
    await storeAndEvaluate(engine, [act("u-a1", "u-agent", 1)]); // raised, announced at once
    await storeAndEvaluate(engine, [act("u-a2", "u-agent", 2)]); // grown within the interval: owed
    expect(announced.map((c) => c.kind)).toEqual(["raised"]);
    await cutShortOnCopiedSecret(engine, /broker not answering/);
    // An interval of 5 s: the second action is owed even when the first pass's writes are slow.
    await new Promise((r) => setTimeout(r, 5_100));
    // The repair fails on every tick while the feed is down; the owed update is announced all the same.
    await engine.tick();
    expect(engine.lastError).toMatch(/broker not answering/);
    expect(announced.map((c) => [c.kind, c.violation_count])).toEqual([["raised", 1], ["updated", 2]]);
    await engine.stop();
  });

  it("keeps a never-derived revocation's published counts when a rewrite moves its generation before its derivation commits", async () => {
    let scansFail = true;
    const engine = new DetectionEngine(s.writer, SETTINGS, undefined, {
      soleWriter: true,
      scanner: flakyClient(s.writer, "detection:derive:scan", () => scansFail),
    });
    await engine.start();
    await storeAndEvaluate(engine, [act("g-act-0", "g-agent", 20)]);
    await storeAndEvaluate(engine, [revokeAgent("g-rev", "g-agent", 10)]); // late: derived, its scan fails
    await storeAndEvaluate(engine, [act("g-act-1", "g-agent", 30), act("g-act-2", "g-agent", 31)]);
    expect(await alerts()).toEqual([{ rule: "post_revocation_activity", agent_id: "g-agent", violation_count: 2 }]);
    // The agent presents a credential not covered yet (its covered set grows: a new generation),
    // and the gateway denies it: a blocked attempt in the new generation, nothing else there.
    await storeAndEvaluate(engine, [act("g-act-3", "g-agent", 40, { credential_id: "g-tok", decision: "deny" })]);
    expect(await alerts(), "the alert is not withdrawn while the derivation is owed").toEqual([{ rule: "post_revocation_activity", agent_id: "g-agent", violation_count: 2 }]);
    scansFail = false;
    await engine.retryFailed();
    // Derived: every action since R, the blocked attempt too (the tool layer both let through and denied).
    expect(await alerts()).toEqual([
      { rule: "partial_containment", agent_id: null, violation_count: 3 },
      { rule: "post_revocation_activity", agent_id: "g-agent", violation_count: 3 },
    ]);
    await engine.stop();
  });
});
