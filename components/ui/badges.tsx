/** Status words always come with a shape or glyph, never colour alone. */
import type { ReactNode } from "react";

const CONTAINMENT_GLYPH: Record<string, string> = { contained: "●", partial: "◐", uncontained: "○" };
const SEVERITY_GLYPH: Record<string, string> = { critical: "◆◆", high: "◆" };
const STATUS_GLYPH: Record<string, string> = { open: "!", acknowledged: "✓", resolved: "✔✔" };
const LAYER_GLYPH: Record<string, string> = { enforcing: "■", leaking: "▲", silent: "·" };

export function Badge({ kind, value, children }: { kind: string; value: string; children?: ReactNode }) {
  return (
    <span className={`badge badge-${kind}-${value}`} data-value={value}>
      {children ?? value}
    </span>
  );
}

export function ContainmentBadge({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <Badge kind="containment" value={value}>
      <span aria-hidden="true">{CONTAINMENT_GLYPH[value] ?? "•"}</span> {value}
    </Badge>
  );
}

export function SeverityBadge({ value }: { value: string }) {
  return (
    <Badge kind="severity" value={value}>
      <span aria-hidden="true">{SEVERITY_GLYPH[value] ?? "◇"}</span> {value}
    </Badge>
  );
}

export function StatusBadge({ value }: { value: string }) {
  return (
    <Badge kind="status" value={value}>
      <span aria-hidden="true">{STATUS_GLYPH[value] ?? "•"}</span> {value}
    </Badge>
  );
}

export function LayerStatusBadge({ value }: { value: string }) {
  return (
    <Badge kind="layer" value={value}>
      <span aria-hidden="true">{LAYER_GLYPH[value] ?? "•"}</span> {value}
    </Badge>
  );
}

export function DecisionBadge({ decision, violation }: { decision: string; violation?: boolean | null }) {
  if (violation === true)
    return (
      <Badge kind="mark" value="violation">
        <span aria-hidden="true">▲</span> violation
      </Badge>
    );
  if (violation === false)
    return (
      <Badge kind="mark" value="blocked">
        <span aria-hidden="true">■</span> blocked
      </Badge>
    );
  return <span className={`decision decision-${decision || "unknown"}`}>{decision || "unknown"}</span>;
}

export const RULE_LABEL: Record<string, string> = {
  post_revocation_activity: "Post-revocation activity",
  delegated_authority_leak: "Delegated authority leak",
  partial_containment: "Partial containment",
};
