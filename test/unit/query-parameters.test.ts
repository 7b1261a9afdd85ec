/**
 * Query parameters are bound by the embedded sessions themselves (lib/store/session-pool.ts),
 * with their text escaped by one native replace: it must be exactly the text
 * @clickhouse/client-common's formatQueryParams writes, which the engine reads back as the value
 * (test/integration/session-settings.test.ts sends such values through the engine).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatQueryParams } from "@clickhouse/client-common";
import { parameterText } from "@/lib/store/session-pool";

/** Strings rich in the characters that are escaped, and in ones that look like them. */
const tricky = fc.string({ unit: fc.constantFrom("\\", "'", "\t", "\n", "\r", '"', "`", "a", "é", "𝄞", "\0", "\\t", "%", " ") });
const anyText = fc.oneof(tricky, fc.string({ unit: "grapheme" }), fc.string());

describe("query parameter text", () => {
  it("is formatQueryParams's text for strings and arrays of strings", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.array(anyText, { maxLength: 6 })), (value) => {
        expect(parameterText(value)).toBe(formatQueryParams({ value }));
      }),
      { numRuns: 2_000 },
    );
  });

  // Only strings and arrays of nothing but strings take the fast path: a mixed array or any
  // other value must come out as formatQueryParams writes it, not as a list of strings.
  it("formats mixed arrays and values that are not strings as formatQueryParams does", () => {
    for (const value of [0, -1.5, 12345678901234567890n, true, null, [1, 2], ["a", 1], new Date(Date.UTC(2026, 10, 30, 6, 0, 0, 123)), { a: "b" }]) {
      expect(parameterText(value)).toBe(formatQueryParams({ value }));
    }
  });

  it("escapes a megabyte of ids the same way", () => {
    const ids = Array.from({ length: 25_000 }, (_, i) => `evt-${i}\t'quoted'\\${"x".repeat(20)}\n`).join("");
    expect(parameterText(ids)).toBe(formatQueryParams({ value: ids }));
  });
});
