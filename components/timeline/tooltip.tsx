"use client";
/** The timeline's hover card: the event under the pointer, its kind, and its post-revocation flags; or a context span. */
import { useFormatTime } from "@/components/ui/time";
import type { MarkKind } from "./marks";
import type { TimelinePoint } from "./model";
import type { ContextPoint } from "./thinning";

export function TooltipBody({ active, payload }: { active?: boolean; payload?: readonly { payload?: unknown }[] }) {
  const fmt = useFormatTime();
  const hovered = payload?.[0]?.payload as TimelinePoint | ContextPoint | undefined;
  if (active && hovered && "context" in hovered) return <ContextTooltip point={hovered} />;
  const p = hovered as TimelinePoint | undefined;
  if (!active || !p?.event) return null;
  const e = p.event;
  const flags = e.post_revocation ?? [];
  return (
    <div className="timeline-tooltip">
      <div className="row" style={{ gap: 8 }}>
        <MarkKindLabel kind={p.kind} />
        <span className="ts">{fmt(e.time)}</span>
      </div>
      <dl>
        <dt>type</dt>
        <dd>{e.type}</dd>
        {e.layer && (
          <>
            <dt>layer</dt>
            <dd>{e.layer}</dd>
          </>
        )}
        <dt>agent</dt>
        <dd>{e.agent_id || "—"}</dd>
        {e.action && (
          <>
            <dt>action</dt>
            <dd>{e.action}</dd>
          </>
        )}
        {e.resource && (
          <>
            <dt>resource</dt>
            <dd>{e.resource}</dd>
          </>
        )}
        {e.decision && (
          <>
            <dt>decision</dt>
            <dd>{e.decision}</dd>
          </>
        )}
        {e.credential_id && (
          <>
            <dt>credential</dt>
            <dd>{e.credential_id}</dd>
          </>
        )}
        {flags.length > 0 && (
          <>
            <dt>after revocation</dt>
            <dd>{flags.map((f) => `${f.revocation_id} (${f.via})`).join(", ")}</dd>
          </>
        )}
      </dl>
      <div className="faint" style={{ marginTop: 6 }}>
        click for the full event
      </div>
    </div>
  );
}

function MarkKindLabel({ kind }: { kind: MarkKind }) {
  const text = { violation: "▲ violation", blocked: "■ blocked attempt", normal: "● action", other: "◇ event" }[kind];
  return <strong style={{ color: kind === "violation" ? "var(--violation)" : kind === "blocked" ? "var(--blocked)" : "var(--text)" }}>{text}</strong>;
}

/** A context span: what it was, never presented as an action. */
function ContextTooltip({ point }: { point: ContextPoint }) {
  const fmt = useFormatTime();
  const c = point.context;
  return (
    <div className="timeline-tooltip">
      <div className="row" style={{ gap: 8 }}>
        <strong>{c.role === "agent" ? "▭ agent invocation" : "▭ context span"}</strong>
        <span className="ts">{fmt(c.start_time)}</span>
      </div>
      <dl>
        <dt>span</dt>
        <dd>{c.name}</dd>
        {c.service && (
          <>
            <dt>service</dt>
            <dd>{c.service}</dd>
          </>
        )}
        <dt>trace</dt>
        <dd>{c.trace_id}</dd>
      </dl>
      <div className="faint" style={{ marginTop: 6 }}>
        OpenTelemetry context, not an action{c.export_id ? " · click for the original export" : ""}
      </div>
    </div>
  );
}
