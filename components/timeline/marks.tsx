/**
 * Event marks, told apart by shape first and colour second (colour-blind safe):
 * violation = red triangle, blocked attempt = amber square with a bar,
 * ordinary action = grey dot, other events (credentials, sessions) = hollow diamond.
 * OpenTelemetry context (spans that are not tool calls) sits in a lane of its own as dashed
 * hollow bars: background to the actions, never one of them.
 */
export type MarkKind = "violation" | "blocked" | "normal" | "other";

export const MARK_COLOR: Record<MarkKind, string> = {
  violation: "var(--violation)",
  blocked: "var(--blocked)",
  normal: "var(--normal)",
  other: "var(--accent)",
};

export function MarkShape({
  kind,
  cx,
  cy,
  selected = false,
  cursor = false,
  legend = false,
  onClick,
}: {
  kind: MarkKind;
  cx: number;
  cy: number;
  selected?: boolean;
  /** Under the keyboard's cursor (components/timeline/keyboard.tsx): a dashed ring. */
  cursor?: boolean;
  legend?: boolean;
  onClick?: () => void;
}) {
  // Legend swatches carry no data-mark: tests and tools count marks by it.
  const mark = legend ? undefined : kind;
  const ring = selected ? (
    <circle cx={cx} cy={cy} r={11} fill="none" stroke="var(--focus)" strokeWidth={2} />
  ) : cursor ? (
    <circle data-mark-cursor cx={cx} cy={cy} r={11} fill="none" stroke="var(--focus)" strokeWidth={2} strokeDasharray="3 2" />
  ) : null;
  switch (kind) {
    case "violation":
      return (
        <g data-mark={mark} onClick={onClick} style={onClick ? { cursor: "pointer" } : undefined}>
          {ring}
          <path d={`M${cx},${cy - 7} L${cx + 7},${cy + 5} L${cx - 7},${cy + 5} Z`} fill="var(--violation)" stroke="#ffd0d5" strokeWidth={1} />
        </g>
      );
    case "blocked":
      return (
        <g data-mark={mark} onClick={onClick} style={onClick ? { cursor: "pointer" } : undefined}>
          {ring}
          <rect x={cx - 5.5} y={cy - 5.5} width={11} height={11} fill="var(--blocked)" stroke="#1a1206" strokeWidth={1} />
          <line x1={cx - 3.5} y1={cy} x2={cx + 3.5} y2={cy} stroke="#1a1206" strokeWidth={2} />
        </g>
      );
    case "other":
      return (
        <g data-mark={mark} onClick={onClick} style={onClick ? { cursor: "pointer" } : undefined}>
          {ring}
          <path d={`M${cx},${cy - 5} L${cx + 5},${cy} L${cx},${cy + 5} L${cx - 5},${cy} Z`} fill="none" stroke="var(--accent)" strokeWidth={1.5} />
        </g>
      );
    default:
      return (
        <g data-mark={mark} onClick={onClick} style={onClick ? { cursor: "pointer" } : undefined}>
          {ring}
          <circle cx={cx} cy={cy} r={7} fill="transparent" />
          <circle cx={cx} cy={cy} r={3.5} fill="var(--normal)" fillOpacity={0.85} />
        </g>
      );
  }
}

/** A context span (invoke_agent, model call, step): a dashed hollow bar, marked data-context-mark (not data-mark: it is no event). */
export function ContextMarkShape({ cx, cy, role, legend = false, href }: { cx: number; cy: number; role?: "agent" | "other"; legend?: boolean; href?: string }) {
  const shape = (
    <rect
      x={cx - 6}
      y={cy - 3.5}
      width={12}
      height={7}
      rx={2}
      fill={role === "agent" ? "var(--context)" : "none"}
      fillOpacity={role === "agent" ? 0.35 : undefined}
      stroke="var(--context)"
      strokeWidth={1.2}
      strokeDasharray="2 1.5"
    />
  );
  if (legend) return shape;
  return (
    <g data-context-mark={role ?? "other"}>
      {href ? (
        <a href={href} target="_blank" rel="noreferrer">
          {shape}
        </a>
      ) : (
        shape
      )}
    </g>
  );
}

export function LegendMark({ kind }: { kind: MarkKind }) {
  return (
    <svg width={16} height={16} aria-hidden="true">
      <MarkShape kind={kind} cx={8} cy={9} legend />
    </svg>
  );
}

export function TimelineLegend({ context = false }: { context?: boolean }) {
  return (
    <div className="timeline-legend" aria-label="Legend">
      <span className="legend-item">
        <LegendMark kind="violation" /> violation (acted after revocation)
      </span>
      <span className="legend-item">
        <LegendMark kind="blocked" /> blocked attempt
      </span>
      <span className="legend-item">
        <LegendMark kind="normal" /> action
      </span>
      <span className="legend-item">
        <LegendMark kind="other" /> credential / session event
      </span>
      {context && (
        <span className="legend-item">
          <svg width={16} height={16} aria-hidden="true">
            <ContextMarkShape cx={8} cy={9} role="other" legend />
          </svg>
          OpenTelemetry context (not an action)
        </span>
      )}
      <span className="legend-item">
        <svg width={22} height={12} aria-hidden="true">
          <line x1={2} y1={6} x2={20} y2={6} stroke="var(--revocation)" strokeWidth={2} strokeDasharray="4 3" />
        </svg>
        revocation
      </span>
      <span className="legend-item">
        <svg width={22} height={12} aria-hidden="true">
          <line x1={2} y1={6} x2={20} y2={6} stroke="var(--reinstatement)" strokeWidth={2} strokeDasharray="1 3" />
        </svg>
        reinstatement
      </span>
    </div>
  );
}
