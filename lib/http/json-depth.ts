/**
 * JSON.parse accepts any nesting, but everything after it that walks the value
 * (JSON.stringify, validation) recurses and overflows the stack near 10,000 levels.
 * Bodies are checked once, without recursion, right after parsing.
 */

/** No API body needs more: an event is 3 levels deep, its free-form extras a few more. */
export const MAX_JSON_DEPTH = 64;

/** True when a parsed JSON value nests objects or arrays deeper than `max` levels. */
export function nestedDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
