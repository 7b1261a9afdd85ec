/**
 * The seeded scenario: one pipeline, an orchestrator agent A holding root credential cA,
 * a delegated sub-agent B holding cB (derived from cA), and a revocation of agent A at R.
 * After R the gateway denies A (blocked attempt: enforcing), the tool layer still allows
 * A with its cached token (violation: leaking → partial containment), and B carries on
 * with cB (covered only through cascade → delegated_authority_leak).
 * Events go in through POST /api/v1/events, which produces them to Kafka.
 */
import type { APIRequestContext } from "@playwright/test";
import { expect } from "@playwright/test";

export function scenario(run: string) {
  const ids = {
    pipeline: `e2e-pipeline-${run}`,
    a: `spiffe://e2e.test/${run}/orchestrator`,
    b: `spiffe://e2e.test/${run}/sub-agent`,
    cA: `cred-a-${run}`,
    cB: `cred-b-${run}`,
    sA: `sess-a-${run}`,
    sB: `sess-b-${run}`,
    revocation: `rev-${run}`,
  };
  // Times in the recent past so every default range shows them.
  const t0 = Date.now() - 10 * 60_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const R = 120;
  const base = { pipeline_id: ids.pipeline };
  const A = { ...base, agent_id: ids.a, session_id: ids.sA, credential_id: ids.cA };
  const B = { ...base, agent_id: ids.b, session_id: ids.sB, credential_id: ids.cB };
  const ev = (id: string) => `${id}-${run}`;

  const before = [
    { event_id: ev("a-start"), type: "session_start", time: at(0), ...A },
    { event_id: ev("a-cred"), type: "credential_issued", time: at(1), ...base, agent_id: ids.a, session_id: ids.sA, credential: { id: ids.cA, kind: "oauth_token" } },
    { event_id: ev("b-start"), type: "session_start", time: at(5), ...B },
    { event_id: ev("b-cred"), type: "credential_issued", time: at(6), ...base, agent_id: ids.b, session_id: ids.sB, credential: { id: ids.cB, kind: "oauth_token", parent_id: ids.cA } },
    { event_id: ev("a-gw-1"), type: "action", time: at(20), ...A, layer: "gateway", source: "kong-gw-1", action: "http.request", resource: "https://api.internal/v1/orders", decision: "allow", sensitivity: "medium" },
    { event_id: ev("a-tool-1"), type: "action", time: at(40), ...A, layer: "tool", source: "mcp-tools-a", action: "execute_tool", resource: "web_search", decision: "allow", sensitivity: "low" },
    { event_id: ev("b-tool-1"), type: "action", time: at(60), ...B, layer: "tool", source: "mcp-tools-a", action: "execute_tool", resource: "web_search", decision: "allow", sensitivity: "low" },
    {
      event_id: ids.revocation,
      type: "revocation",
      time: at(R),
      revocation: { scope: "agent", subject: ids.a, reason: "e2e: prompt injection suspected", cascade: true, initiated_by: "e2e" },
    },
    { event_id: ev("a-gw-denied"), type: "action", time: at(R + 5), ...A, layer: "gateway", source: "kong-gw-1", action: "http.request", resource: "https://api.internal/v1/orders", decision: "deny", sensitivity: "medium" },
  ];
  // Seeded once the alerts page is open: the offending actions.
  const after = [
    { event_id: ev("a-tool-leak"), type: "action", time: at(R + 30), ...A, layer: "tool", source: "mcp-tools-a", action: "execute_tool", resource: "sql_query", decision: "allow", sensitivity: "high" },
    { event_id: ev("b-tool-leak"), type: "action", time: at(R + 45), ...B, layer: "tool", source: "mcp-tools-a", action: "execute_tool", resource: "web_search", decision: "allow", sensitivity: "low" },
  ];
  return { ids, before, after, times: { t0, R: t0 + R * 1000 } };
}

export async function seed(request: APIRequestContext, events: unknown[]) {
  const res = await request.post("/api/v1/events", { data: events });
  expect(res.status(), await res.text()).toBe(202);
  const body = await res.json();
  expect(body.rejected, JSON.stringify(body.errors)).toBe(0);
}
