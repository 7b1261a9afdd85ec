/** bench:scale's closing summary: every figure with its target. */
import type { PreparedCounts } from "@/lib/detection/prepared-counts";
import { fmt } from "./common";
import type { ScaleSizes } from "./scale-data";
import type { ReadFigures } from "./scale-reads";
import type { IngestRun } from "./scale-util";

export interface PhaseA {
  ingest: IngestRun;
  stored: number;
  rssMaxMb: number;
}

export interface PhaseB {
  ingest: IngestRun;
  pendingAtIngestEnd: number;
  /** Revocations the batches prepared during ingest (lib/detection/prepared-counts.ts). */
  prepared: PreparedCounts;
  derivationSeconds: number;
  idle: boolean;
  counts: { revocations: number; pending: number; pairs: number; violations: number; alerts: Record<string, number> };
  incident: null | {
    injections: number;
    offenders: number;
    measured: number;
    timeouts: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
    backgroundRate: number;
    drainSeconds: number;
    lagAfter: number;
    pendingDerivations: number;
  };
  startReturned: number;
  startJoined: number;
  reads: { timeline: ReadFigures; postRevocation: ReadFigures; alerts: ReadFigures; agents: ReadFigures };
  rss: { ingestMaxMb: number; derivationsMaxMb: number; incidentMaxMb: number; incidentPerMinuteMb: number[]; endMb: number };
  profile: { ingest: string[]; incident: string[] };
}

interface Expected {
  pairs: number;
  violations: number;
  alerts: Record<string, number>;
}

/** What a phase's producer wrote to the topic before its ingest started, and in how long. */
interface Produced {
  messages: number;
  seconds: number;
}

interface Input {
  sizes: ScaleSizes;
  producedA: Produced;
  producedB: Produced;
  /** The reference before phase B. */
  a1: PhaseA;
  /** The reference after phase B, on the same topic (null with BENCH_REFERENCE_AFTER=0). */
  a2: PhaseA | null;
  b: PhaseB;
  expected: Expected;
}

const ok = (good: boolean) => (good ? "ok" : "MISSED");
const ms = (x: number) => `${x.toFixed(0)} ms`;
const rd = (r: ReadFigures) => `p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms (${r.runs} runs)`;

function incidentLines(inc: PhaseB["incident"]): string[] {
  if (!inc) return ["  incident: NOT RUN — ingest had not caught up after the derivation limit, so produce → alert would measure the backlog"];
  return [
    `  incident: produce → alert visible        p50 ${ms(inc.p50)}, p95 ${ms(inc.p95)}, p99 ${ms(inc.p99)}, max ${ms(inc.max)}   target p99 ≤ 1,000 ms  ${ok(inc.p99 <= 1000 && inc.timeouts === 0)}`,
    `     ${inc.measured}/${inc.injections} measured over ${fmt(inc.offenders)} offenders, ${inc.timeouts} timed out (30 s, not in the percentiles); background ${fmt(inc.backgroundRate)}/s; lag after ${fmt(inc.lagAfter)} (drained in ${inc.drainSeconds.toFixed(1)} s)`,
  ];
}

/** Beyond this, two rates that should match say the host changed speed during the run. */
const HOST_DRIFT = 0.1;

/** A line under the ratio when two rates that should match differ by more than HOST_DRIFT, else none. */
function driftLines(rate: number, reference: number, says: (percent: string, how: string) => string): string[] {
  const drift = rate / reference - 1;
  if (Math.abs(drift) <= HOST_DRIFT) return [];
  return [`     host drift                            ${says((Math.abs(drift) * 100).toFixed(0), drift < 0 ? "slower" : "faster")}`];
}

/**
 * Both phases produce as many events of the same size with the same code before ingest starts,
 * so their producers' rates track the host's speed: when they differ, the ratio measures the
 * host as much as detection (seen on shared 2-core machines, where phase B once ran 20% slower
 * than phase A; docs/BENCHMARKS.md). A1 and A2 ingest the same messages with the same code:
 * when they differ, the host changed speed during the run.
 */
function hostDriftLines(producedA: Produced, producedB: Produced, a1: PhaseA, a2: PhaseA | null): string[] {
  return [
    ...driftLines(producedB.messages / producedB.seconds, producedA.messages / producedA.seconds, (p, how) => `phase B's producer ran ${p}% ${how} than phase A's: the ratio measures the host too`),
    ...(a2 ? driftLines(a2.ingest.rate, a1.ingest.rate, (p, how) => `A2 ran ${p}% ${how} than A1 on the same messages: the host changed speed during the run`) : []),
  ];
}

function referenceLines(a1: PhaseA, a2: PhaseA | null): string[] {
  const line = (a: PhaseA) => `${fmt(a.ingest.rate)} events/s (${fmt(a.ingest.messages)} in ${a.ingest.seconds.toFixed(1)} s)`;
  if (!a2) return [`  A  raw ingest, no revocations            ${line(a1)}`];
  return [
    `  A1 raw ingest, no revocations, before B  ${line(a1)}`,
    `  A2 the same, after B                     ${line(a2)}`,
    `  A  reference: mean of A1 and A2          ${fmt(referenceRate(a1, a2))} events/s`,
  ];
}

/** Phase B is compared with the mean of the references on both sides of it (bench/scale.ts). */
function referenceRate(a1: PhaseA, a2: PhaseA | null): number {
  return a2 ? (a1.ingest.rate + a2.ingest.rate) / 2 : a1.ingest.rate;
}

export function summary({ sizes, producedA, producedB, a1, a2, b, expected }: Input): string {
  const ratio = b.ingest.rate / referenceRate(a1, a2);
  const alerts = (x: Record<string, number>) =>
    ["post_revocation_activity", "delegated_authority_leak", "partial_containment"].map((r) => `${r} ${fmt(x[r] ?? 0)}`).join(", ");
  const exact = b.counts.pairs === expected.pairs && b.counts.violations === expected.violations &&
    Object.entries(expected.alerts).every(([r, n]) => (b.counts.alerts[r] ?? 0) === n);
  const lines = [
    "",
    `bench:scale summary — ${fmt(sizes.events)} actions, ${fmt(sizes.agents)} agents, ${fmt(Math.min(sizes.revocations, sizes.agents))} revocations (${fmt(b.counts.revocations)} in revocation_state)`,
    `  produce (kafkajs, ${fmt(producedB.messages)} messages)         A ${fmt(producedA.messages / producedA.seconds)}/s, B ${fmt(producedB.messages / producedB.seconds)}/s`,
    ...referenceLines(a1, a2),
    `  B  incident week with detection          ${fmt(b.ingest.rate)} events/s (${fmt(b.ingest.messages)} in ${b.ingest.seconds.toFixed(1)} s)` +
      (b.ingest.complete ? "" : `  STOPPED at the time limit, ${fmt(b.ingest.behind)} behind`),
    `     ratio B / A                           ${ratio.toFixed(2)}   target ≥ 0.80  ${ok(ratio >= 0.8)}`,
    ...hostDriftLines(producedA, producedB, a1, a2),
    `     revocations prepared during ingest    committed at once: ${fmt(b.prepared.committedAtOnce.new)} new, ${fmt(b.prepared.committedAtOnce.reinstated)} reinstated, ${fmt(b.prepared.committedAtOnce.grown)} grown; derived: ${fmt(b.prepared.derived.new)} new, ${fmt(b.prepared.derived.reinstated)} reinstated, ${fmt(b.prepared.derived.grown)} grown, ${fmt(b.prepared.derived.repaired)} repaired`,
    `     derivations after ingest ended        ${b.derivationSeconds.toFixed(1)} s ${b.idle ? "until idle" : "and NOT idle (time limit)"} (${b.pendingAtIngestEnd} pending when ingest ended, ${b.counts.pending} left)`,
    `     pairs                                 ${fmt(b.counts.pairs)} (${fmt(b.counts.violations)} violations); generator: ${fmt(expected.pairs)} (${fmt(expected.violations)})`,
    `     alerts                                ${alerts(b.counts.alerts)}`,
    `     alerts expected                       ${alerts(expected.alerts)}  ${exact ? "exact" : b.ingest.complete && b.idle ? "DIFFERENT" : "not comparable: unfinished"}`,
    ...incidentLines(b.incident),
    `  restart on that history                  startWorker() ${b.startReturned.toFixed(2)} s, consumer joined ${b.startJoined.toFixed(2)} s   target ≤ 10 s  ${ok(b.startJoined <= 10)}`,
    `  RSS (worker process)                     max ${fmt(b.rss.ingestMaxMb)} MB ingest, ${fmt(b.rss.derivationsMaxMb)} MB derivations, ${fmt(b.rss.incidentMaxMb)} MB incident; ${fmt(b.rss.endMb)} MB at the end (A1: max ${fmt(a1.rssMaxMb)} MB)`,
    `     incident, max per minute             ${b.rss.incidentPerMinuteMb.map(fmt).join(", ")} MB (BENCH_INJECTIONS=3000: a 10-minute incident)`,
    `  reads (${b.reads.timeline.rows} / ${b.reads.postRevocation.rows} / ${b.reads.alerts.rows} / ${b.reads.agents.rows} items per page)`,
    `     agent timeline                        ${rd(b.reads.timeline)}   target p95 ≤ 50 ms  ${ok(b.reads.timeline.p95 <= 50)}`,
    `     post-revocation actions (1 revocation) ${rd(b.reads.postRevocation)}`,
    `     alerts list                           ${rd(b.reads.alerts)}`,
    `     agents list                           ${rd(b.reads.agents)}`,
  ];
  lines.push("  where phase B's worker spent its ClickHouse time during ingest (wall time of calls, by session and query):");
  for (const l of b.profile.ingest.slice(0, 8)) lines.push(`    ${l}`);
  return lines.join("\n");
}
