/**
 * Versions for ReplacingMergeTree tables: microseconds since the epoch, strictly
 * increasing within the process, so the row written last wins even within one ms.
 */
let last = 0;

export function nextVersion(): number {
  const now = Date.now() * 1000;
  last = now > last ? now : last + 1;
  return last;
}
