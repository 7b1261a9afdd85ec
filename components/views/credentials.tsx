"use client";
/**
 * Credentials with their lineage: a delegation tree (child → parent links from
 * credential_issued events) and who presented each one. A credential presented by an
 * agent other than its holder is a copied or shared secret, and is called out.
 */
import type { CredentialNode } from "@/components/data/types";
import { AgentLink } from "@/components/ui/links";
import { Time } from "@/components/ui/time";

interface TreeNode {
  cred: CredentialNode | { credential_id: string; external: true };
  children: TreeNode[];
}

function buildForest(creds: CredentialNode[]): TreeNode[] {
  const byId = new Map(creds.map((c) => [c.credential_id, c]));
  const nodes = new Map<string, TreeNode>();
  const node = (id: string): TreeNode => {
    let n = nodes.get(id);
    if (!n) {
      const c = byId.get(id);
      n = { cred: c ?? { credential_id: id, external: true }, children: [] };
      nodes.set(id, n);
    }
    return n;
  };
  const roots: TreeNode[] = [];
  const attached = new Set<string>();
  for (const c of creds) {
    const n = node(c.credential_id);
    if (c.parent_id && c.parent_id !== c.credential_id) {
      const p = node(c.parent_id);
      if (!p.children.includes(n)) p.children.push(n);
      attached.add(c.credential_id);
    }
    for (const kid of c.children ?? []) {
      if (kid === c.credential_id) continue;
      const k = node(kid);
      if (!n.children.includes(k)) n.children.push(k);
      attached.add(kid);
    }
  }
  for (const [id, n] of nodes) if (!attached.has(id)) roots.push(n);
  // Cycles (tolerated by detection) leave no root: show every node once at top level then.
  if (roots.length === 0) return [...nodes.values()];
  return roots;
}

function NodeView({ n, holder, seen }: { n: TreeNode; holder?: string; seen: Set<string> }) {
  const id = n.cred.credential_id;
  if (seen.has(id)) return <li className="faint mono">{id} (cycle)</li>;
  const next = new Set(seen).add(id);
  const c = "external" in n.cred ? null : n.cred;
  const others = c && holder ? c.presented_by.filter((a) => a !== holder) : [];
  return (
    <li>
      <span className="tree-node" data-credential={id}>
        <span className="mono">{id}</span>
        {c?.kind && <span className="badge badge-plain">{c.kind}</span>}
        {!c && <span className="faint">(not presented here)</span>}
        {c && c.presented_by.length > 0 && (
          <span className="muted">
            presented by{" "}
            {c.presented_by.map((a, i) => (
              <span key={a}>
                {i > 0 && ", "}
                <AgentLink id={a} />
              </span>
            ))}
          </span>
        )}
        {others.length > 0 && <span className="badge badge-layer-leaking">⚠ also used by {others.length} other agent{others.length > 1 ? "s" : ""}</span>}
      </span>
      {n.children.length > 0 && (
        <ul>
          {n.children.map((k) => (
            <NodeView key={k.cred.credential_id} n={k} holder={holder} seen={next} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function DelegationTree({ credentials, holder }: { credentials: CredentialNode[]; holder?: string }) {
  const forest = buildForest(credentials);
  return (
    <ul className="tree" aria-label="Credential delegation tree" data-testid="delegation-tree">
      {forest.map((n) => (
        <NodeView key={n.cred.credential_id} n={n} holder={holder} seen={new Set()} />
      ))}
    </ul>
  );
}

export function CredentialsTable({ credentials, holder }: { credentials: CredentialNode[]; holder: string }) {
  return (
    <table className="simple" data-testid="credentials-table">
      <thead>
        <tr>
          <th>Credential</th>
          <th>Kind</th>
          <th>Derived from</th>
          <th>Delegated to</th>
          <th>Presented by</th>
          <th>First seen</th>
          <th>Last seen</th>
        </tr>
      </thead>
      <tbody>
        {credentials.map((c) => (
          <tr key={c.credential_id}>
            <td className="mono">{c.credential_id}</td>
            <td>{c.kind || <span className="muted">—</span>}</td>
            <td className="mono">{c.parent_id ?? <span className="muted">root</span>}</td>
            <td className="mono">{c.children.length ? c.children.join(", ") : <span className="muted">—</span>}</td>
            <td>
              <div className="chips">
                {c.presented_by.map((a) => (
                  <span key={a} className={a === holder ? "" : "badge badge-layer-leaking"}>
                    <AgentLink id={a} />
                  </span>
                ))}
              </div>
            </td>
            <td>
              <Time value={c.first_seen} ms={false} />
            </td>
            <td>
              <Time value={c.last_seen} ms={false} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
