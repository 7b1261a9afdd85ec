/**
 * The agent timeline's OpenTelemetry context lane (components/timeline/thinning.ts): context
 * spans are drawn on their own row, within the visible window, and count towards the
 * timeline's extent even when the agent has no events in range.
 */
import { describe, expect, it } from "vitest";
import type { TimelineContextSpan } from "@/components/data/types";
import { MAX_CONTEXT_MARKS, timelineExtent, visibleContext } from "@/components/timeline/thinning";

const T = Date.UTC(2026, 10, 3, 10, 0, 0);
const span = (i: number, role: "agent" | "other" = "other"): TimelineContextSpan => ({
  trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: i.toString(16).padStart(16, "0"), parent_span_id: "", role,
  name: role === "agent" ? "invoke_agent a" : "chat gpt-5", service: "planner", start_time: new Date(T + i * 1000).toISOString(), export_id: "",
});

describe("timeline context lane", () => {
  it("places the context spans inside the window on the context row, and no others", () => {
    const points = visibleContext([span(0, "agent"), span(5), span(20)], [T, T + 10_000], 3);
    expect(points.map((p) => [p.x, p.y, p.context.role])).toEqual([[T, 3, "agent"], [T + 5000, 3, "other"]]);
  });

  it("thins a crowded window evenly to at most MAX_CONTEXT_MARKS marks", () => {
    const many = Array.from({ length: MAX_CONTEXT_MARKS * 3 }, (_, i) => span(i));
    const points = visibleContext(many, [T, T + many.length * 1000], 0);
    expect(points).toHaveLength(MAX_CONTEXT_MARKS);
    expect(points[0].x).toBe(T);
    expect(points.at(-1)!.x).toBeGreaterThan(T + (many.length - 10) * 1000);
  });

  it("spans the context when the agent has no events in range", () => {
    const [lo, hi] = timelineExtent([], [], undefined, T + 3_600_000, [span(0), span(60)]);
    expect(lo).toBeLessThanOrEqual(T);
    expect(hi).toBeGreaterThanOrEqual(T + 60_000);
    expect(hi - lo).toBeLessThan(120_000);
  });
});
