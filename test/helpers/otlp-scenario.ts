/**
 * One small revocation story told two ways: as native schema-v1 events, and as OpenTelemetry
 * spans from the real SDK (tool calls) beside the same native credential and revocation
 * events. Detection must find the same pairs, containment and alerts in both.
 */
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { OtelSource } from "./otel";

export const T = Date.UTC(2026, 10, 3, 10, 0, 0);

interface Call {
  n: number;
  tool: string;
  time: number;
  decision: "allow" | "deny";
  layer: string;
  mcp?: boolean;
}

const CALLS: Call[] = [
  { n: 1, tool: "crm.read", time: T - 1_000, decision: "allow", layer: "tool" },
  { n: 2, tool: "crm.export", time: T + 1_000, decision: "allow", layer: "tool" },
  { n: 3, tool: "crm.delete", time: T + 2_000, decision: "deny", layer: "saas" },
  { n: 4, tool: "files.read", time: T + 3_000, decision: "allow", layer: "gateway", mcp: true },
];

/** The credential issue and its revocation: native in both tellings. */
export function controlEvents(p: string): Record<string, unknown>[] {
  return [
    { event_id: `${p}-iss`, type: "credential_issued", time: T - 60_000, agent_id: `${p}-agent`, session_id: `${p}-sess`, credential: { id: `${p}-cred`, kind: "api_key" } },
    { event_id: `${p}-rev`, type: "revocation", time: T, revocation: { scope: "credential", subject: `${p}-cred`, reason: "leaked", initiated_by: "idp" } },
  ];
}

export function nativeActions(p: string): Record<string, unknown>[] {
  return CALLS.map((c) => ({
    event_id: `${p}-call-${c.n}`, type: "action", time: c.time, agent_id: `${p}-agent`, session_id: `${p}-sess`, credential_id: `${p}-cred`,
    layer: c.layer, action: c.mcp ? "tools/call" : "execute_tool", resource: c.tool, decision: c.decision,
    source: c.mcp ? "mcp-gw" : "crm-agent",
  }));
}

/**
 * The same actions as spans: the agent comes from an invoke_agent ancestor (or, for the MCP
 * gateway, its resource), the credential from revenant.credential.id on the resource, the
 * gateway's layer from the service.name map (OTLP_SERVICE_LAYERS=mcp-gw=gateway).
 * Returned per span so a test can send them in any order.
 */
export async function otelSpans(p: string): Promise<ReadableSpan[]> {
  const app = new OtelSource({ "service.name": "crm-agent", "revenant.credential.id": `${p}-cred` });
  const agent = app.agent(`${p}-agent`, T - 5_000, { "gen_ai.conversation.id": `${p}-sess` });
  const step = app.step("chat", T - 4_000, agent);
  for (const c of CALLS.filter((x) => !x.mcp)) {
    app.tool({
      tool: c.tool, callId: `${p}-call-${c.n}`, time: c.time, errorType: c.decision === "deny" ? "forbidden" : undefined,
      attributes: { "gen_ai.conversation.id": `${p}-sess`, ...(c.layer !== "tool" ? { "revenant.layer": c.layer } : {}) },
    }, step);
  }
  step.end(T + 4_000);
  agent.end(T + 5_000);
  const gw = new OtelSource({ "service.name": "mcp-gw", "gen_ai.agent.id": `${p}-agent`, "revenant.credential.id": `${p}-cred` });
  for (const c of CALLS.filter((x) => x.mcp)) gw.mcpCall(c.tool, `${p}-sess`, c.time, { "gen_ai.tool.call.id": `${p}-call-${c.n}` });
  return [...(await app.take()), ...(await gw.take())];
}
