"use client";
import type { MatrixCell } from "@/components/data/types";
import { AgentLink } from "@/components/ui/links";

const GLYPH = { enforcing: "■ enforcing", leaking: "▲ leaking", silent: "· silent" } as const;

/** Agent × layer: enforcing (blocked only), leaking (any violation), silent (nothing seen after revocation). */
export function ContainmentMatrix({ agents, layers, cells }: { agents: string[]; layers: string[]; cells: MatrixCell[] }) {
  const at = new Map(cells.map((c) => [`${c.agent_id}\u0000${c.layer}`, c]));
  return (
    <div style={{ overflowX: "auto" }}>
      <table className="matrix" data-testid="containment-matrix" aria-label="Containment matrix: agents by layer">
        <thead>
          <tr>
            <th scope="col">Agent \ layer</th>
            {layers.map((l) => (
              <th key={l} scope="col" className="col">
                {l}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr key={a}>
              <th scope="row">
                <AgentLink id={a} />
              </th>
              {layers.map((l) => {
                const c = at.get(`${a}\u0000${l}`);
                const status = c?.status ?? "silent";
                const v = Number(c?.violations ?? 0);
                const b = Number(c?.blocked ?? 0);
                return (
                  <td key={l} className={`cell-${status}`} data-agent={a} data-layer={l} data-status={status} title={`${a} × ${l}: ${status}${v || b ? ` (${v} violations, ${b} blocked)` : ""}`}>
                    {GLYPH[status]}
                    {v || b ? <div style={{ fontWeight: 400, fontSize: 11 }}>{v ? `${v} viol.` : ""}{v && b ? " · " : ""}{b ? `${b} blocked` : ""}</div> : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
