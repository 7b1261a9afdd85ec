/**
 * What detection prepared, counted by outcome and reason: the engine keeps it
 * (lib/detection/engine.ts) and the health endpoint shows it (lib/runtime-status.ts). A module
 * of its own, free of the store, so that the web app's status needs nothing else of detection.
 */

/**
 * Why a batch rewrites a revocation's coverage: it is new (the batch holds it), a
 * reinstatement moved its window's end, the batch grew its covered set, or an earlier rewrite
 * was cut short after its coverage was written (a failure or a crash; always derived again).
 */
export type ChangeReason = "new" | "reinstated" | "grown" | "repaired";

/**
 * How many revocations were prepared, by what happened to them: committed at once (nothing
 * stored acted where the change matters), or a derivation from scratch requested, each by
 * reason. Derivations are what detection's cost grows with (README.md, "Benchmarks").
 */
export interface PreparedCounts {
  committedAtOnce: Record<ChangeReason, number>;
  derived: Record<ChangeReason, number>;
}

export const noPreparations = (): PreparedCounts => ({
  committedAtOnce: { new: 0, reinstated: 0, grown: 0, repaired: 0 },
  derived: { new: 0, reinstated: 0, grown: 0, repaired: 0 },
});
