"use client";
import Link from "next/link";
import type { Revocation } from "@/components/data/types";
import { ContainmentBadge, LayerStatusBadge } from "@/components/ui/badges";
import { revocationHref } from "@/components/ui/links";
import { Time, formatDuration } from "@/components/ui/time";

export function RevocationsTable({ revocations }: { revocations: Revocation[] }) {
  return (
    <table className="simple" data-testid="revocations-table">
      <thead>
        <tr>
          <th>Revoked at</th>
          <th>Scope</th>
          <th>Subject</th>
          <th>Cascade</th>
          <th>Reinstated</th>
          <th>Containment</th>
          <th>Layers</th>
          <th className="num">Violations</th>
          <th className="num">Blocked</th>
        </tr>
      </thead>
      <tbody>
        {revocations.map((r) => (
          <tr key={r.event_id}>
            <td>
              <Link href={revocationHref(r.event_id)} prefetch={false} data-testid="revocation-link">
                <Time value={r.time} />
              </Link>
            </td>
            <td>{r.scope}</td>
            <td className="mono">{r.subject}</td>
            <td>{r.cascade ? "yes" : "no"}</td>
            <td>{r.reinstated_at ? <Time value={r.reinstated_at} /> : <span className="muted">—</span>}</td>
            <td>
              <ContainmentBadge value={r.containment} />
            </td>
            <td>
              <div className="chips">
                {Object.entries(r.layers ?? {}).map(([layer, status]) => (
                  <span key={layer} title={r.propagation_ms?.[layer] !== undefined ? `propagation ${formatDuration(r.propagation_ms[layer])}` : undefined}>
                    <span className="mono">{layer}</span> <LayerStatusBadge value={status} />
                  </span>
                ))}
                {Object.keys(r.layers ?? {}).length === 0 && <span className="muted">no post-revocation actions</span>}
              </div>
            </td>
            <td className="num" style={{ color: r.violation_count ? "var(--violation)" : undefined }}>
              {r.violation_count}
            </td>
            <td className="num">{r.blocked_count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
