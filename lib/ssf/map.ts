/**
 * What a verified SET becomes (docs/INTAKES.md, "Shared Signals"): CAEP session-revoked → a
 * revocation of scope session; credential-change with change_type revoke or delete → a
 * revocation of scope credential; the SSF verification event → recorded as the stream's
 * verification; anything else → kept, nothing produced.
 */
import { createHash } from "node:crypto";
import type { RevocationScope } from "../events/schema";
import type { Stream, SubjectRule } from "./streams";
import type { VerifiedSet } from "./verify";

const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
export const SESSION_REVOKED = `${CAEP}session-revoked`;
export const CREDENTIAL_CHANGE = `${CAEP}credential-change`;
export const VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/** Used when a stream has no rules of its own: the standard places of a session and a credential. */
export const DEFAULT_RULES: SubjectRule[] = [
  { event: "session-revoked", format: "complex", path: "session.id", prefix: "" },
  { event: "session-revoked", format: "opaque", path: "id", prefix: "" },
  { event: "credential-change", format: "jwt_id", path: "jti", prefix: "" },
  { event: "credential-change", format: "opaque", path: "id", prefix: "" },
];

export type SetOutcome =
  | { kind: "revocation"; event: Record<string, unknown> & { event_id: string } }
  | { kind: "verification"; state: string | null }
  | { kind: "ignored"; why: string }
  | { kind: "unmapped"; why: string };

function at(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split(".")) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export function mapSubject(rules: SubjectRule[], shortType: "session-revoked" | "credential-change", subId: unknown): { scope: RevocationScope; subject: string } | null {
  const format = at(subId, "format");
  for (const r of rules.length ? rules : DEFAULT_RULES) {
    if (r.event !== "*" && r.event !== shortType) continue;
    if (r.format && r.format !== format) continue;
    const v = at(subId, r.path);
    if (typeof v !== "string" || !v) continue;
    const subject = (r.prefix ?? "") + v;
    if (subject.length > 256) continue;
    return { scope: r.scope ?? (shortType === "session-revoked" ? "session" : "credential"), subject };
  }
  return null;
}

/** Deterministic per stream and jti: a SET delivered twice produces one revocation. */
export function revocationEventId(streamId: string, jti: string): string {
  return `ssf-${createHash("sha256").update(`${streamId}\n${jti}`).digest("hex").slice(0, 40)}`;
}

export function mapSet(set: VerifiedSet, stream: Stream): SetOutcome {
  const { payload, eventType, event } = set;
  if (eventType === VERIFICATION) return { kind: "verification", state: typeof event.state === "string" ? event.state : null };
  let shortType: "session-revoked" | "credential-change";
  if (eventType === SESSION_REVOKED) shortType = "session-revoked";
  else if (eventType === CREDENTIAL_CHANGE) {
    const change = event.change_type;
    if (change !== "revoke" && change !== "delete") return { kind: "ignored", why: `credential-change ${String(change)}` };
    shortType = "credential-change";
  } else return { kind: "ignored", why: `event type ${eventType}` };
  // SSF 1.0 puts the subject in sub_id; CAEP's earlier drafts inside the event as "subject".
  const subId = payload.sub_id ?? event.subject;
  const mapped = mapSubject(stream.subject_rules, shortType, subId);
  if (!mapped) return { kind: "unmapped", why: `no subject rule matches ${JSON.stringify(subId)?.slice(0, 300)}` };
  const seconds = typeof event.event_timestamp === "number" ? event.event_timestamp : payload.iat;
  const reasonAdmin = at(event, "reason_admin.en");
  const initiator = typeof event.initiating_entity === "string" ? event.initiating_entity : null;
  const attributes: Record<string, string> = {
    "revenant.origin": "ssf", "ssf.stream_id": stream.id, "ssf.stream": stream.name, "ssf.jti": payload.jti,
    "ssf.iss": String(payload.iss), "ssf.event_type": eventType,
  };
  if (typeof event.change_type === "string") attributes["ssf.change_type"] = event.change_type;
  if (typeof event.credential_type === "string") attributes["ssf.credential_type"] = event.credential_type;
  return {
    kind: "revocation",
    event: {
      event_id: revocationEventId(stream.id, payload.jti),
      type: "revocation",
      time: Math.round(seconds * 1000),
      revocation: {
        scope: mapped.scope,
        subject: mapped.subject,
        reason: typeof reasonAdmin === "string" ? reasonAdmin.slice(0, 4096) : `CAEP ${shortType}`,
        initiated_by: (initiator ? `${initiator} via ${stream.issuer}` : stream.issuer).slice(0, 256),
      },
      attributes,
    },
  };
}
