/**
 * The timeline's marks from the keyboard (components/timeline/keyboard.tsx): the arrow keys
 * follow the drawn marks in time order across lanes and kinds, and stop at either end.
 */
import { describe, expect, it } from "vitest";
import type { TimelineEvent } from "@/components/data/types";
import { marksInTimeOrder, nextMarkIndex, type TimelinePoint } from "@/components/timeline/model";

const point = (id: string, x: number, y: number, kind: TimelinePoint["kind"]): TimelinePoint => ({ x, y, kind, event: { event_id: id } as TimelineEvent });

describe("the timeline's mark cursor", () => {
  it("orders the marks by time, then lane, whatever their kind", () => {
    const ordered = marksInTimeOrder({
      violation: [point("v", 30, 0, "violation")],
      blocked: [point("b", 10, 1, "blocked")],
      normal: [point("n2", 20, 1, "normal"), point("n1", 20, 0, "normal")],
      other: [point("o", 5, 2, "other")],
    });
    expect(ordered.map((p) => p.event.event_id)).toEqual(["o", "b", "n1", "n2", "v"]);
  });

  it("starts from the first mark going right and the last going left, and stops at the ends", () => {
    expect(nextMarkIndex("ArrowRight", -1, 4)).toBe(0);
    expect(nextMarkIndex("ArrowLeft", -1, 4)).toBe(3);
    expect(nextMarkIndex("ArrowRight", 3, 4)).toBe(3);
    expect(nextMarkIndex("ArrowLeft", 0, 4)).toBe(0);
    expect(nextMarkIndex("ArrowRight", 1, 4)).toBe(2);
    expect(nextMarkIndex("Home", 2, 4)).toBe(0);
    expect(nextMarkIndex("End", 0, 4)).toBe(3);
    expect(nextMarkIndex("ArrowRight", -1, 0)).toBeNull();
    expect(nextMarkIndex("a", 1, 4)).toBeNull();
  });
});
