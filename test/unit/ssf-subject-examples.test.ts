/**
 * The subject rules README.md shows for Okta and Keycloak ("Shared Signals" → "Subject rules"),
 * taken from the README itself, parsed as POST /api/v1/ssf/streams parses a stream's rules
 * (streamInput) and applied to SETs shaped like each identity provider's (mapSet): an admin who
 * copies an example gets the agent, session or credential ids its comment promises.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CREDENTIAL_CHANGE, mapSet, SESSION_REVOKED } from "@/lib/ssf/map";
import { streamInput, type Stream } from "@/lib/ssf/streams";
import type { VerifiedSet } from "@/lib/ssf/verify";

interface Example {
  /** The comment above the rules, e.g. "Okta: subjects are users (…)". */
  comment: string;
  rules: unknown;
}

/**
 * The examples of the "Subject rules" section: in its fenced code blocks, each run of `//`
 * comment lines opens an example and the JSON array after it is its rules. Fails loudly when the
 * section or its layout changes, rather than testing nothing.
 */
function readmeExamples(): Map<string, Example> {
  const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
  const start = readme.search(/^#+ Subject rules\s*$/m);
  if (start < 0) throw new Error('README.md has no "Subject rules" heading');
  // From the line after the heading to the next heading of any level.
  const rest = readme.slice(readme.indexOf("\n", start) + 1);
  const nextHeading = rest.search(/^#{1,6} /m);
  const section = nextHeading < 0 ? rest : rest.slice(0, nextHeading);
  const blocks = [...section.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const examples = new Map<string, Example>();
  for (const block of blocks) {
    let current: { comment: string[]; json: string[] } | null = null;
    const flush = () => {
      if (!current) return;
      const comment = current.comment.join(" ");
      const name = comment.split(":")[0].trim();
      examples.set(name, { comment, rules: JSON.parse(current.json.join("\n")) });
    };
    for (const line of block.split("\n")) {
      const trimmed = line.trim();
      if (trimmed.startsWith("//")) {
        if (current?.json.length) {
          flush();
          current = null;
        }
        current ??= { comment: [], json: [] };
        current.comment.push(trimmed.replace(/^\/\/\s?/, ""));
      } else if (trimmed && current) current.json.push(line);
    }
    flush();
  }
  return examples;
}

/** A stream as the API stores it from these rules (POST /api/v1/ssf/streams validates with streamInput). */
function streamWith(rules: unknown, issuer: string): Stream {
  const input = streamInput.parse({ name: "from the README", issuer, audience: "https://revenant.example.com", delivery: "push", subject_rules: rules });
  const stream = {
    ...input,
    // Settings the examples leave out are stored empty.
    poll_url: "", transmitter_stream_id: "",
    id: randomUUID(), created_at: "2026-01-01T00:00:00.000Z", created_by: "admin",
    // Stored as JSON and read back (lib/ssf/streams.ts), as the receiver sees them.
    subject_rules: JSON.parse(JSON.stringify(input.subject_rules)),
  };
  return stream;
}

/**
 * A verified SET carrying one event about `subject`: in sub_id (SSF 1.0), or inside the event
 * as "subject" (CAEP's earlier drafts, which transmitters still send).
 */
function set(issuer: string, eventType: string, event: Record<string, unknown>, subject: unknown, where: "sub_id" | "event" = "sub_id"): VerifiedSet {
  const body = where === "event" ? { ...event, subject } : event;
  return {
    payload: { iss: issuer, aud: "https://revenant.example.com", jti: randomUUID(), iat: 1_767_225_600, events: { [eventType]: body }, ...(where === "sub_id" ? { sub_id: subject as Record<string, unknown> } : {}) },
    eventType,
    event: body,
  };
}

/** What the SET becomes: the revocation's scope and subject, or why nothing was produced. */
function outcome(stream: Stream, s: VerifiedSet): { scope: string; subject: string } | string {
  const r = mapSet(s, stream);
  if (r.kind !== "revocation") return r.kind;
  const revocation = r.event.revocation as { scope: string; subject: string };
  return { scope: revocation.scope, subject: revocation.subject };
}

const examples = readmeExamples();

function rulesOf(name: string): unknown {
  const example = examples.get(name);
  if (!example) throw new Error(`README.md's Subject rules section has no ${name} example (found: ${[...examples.keys()].join(", ") || "none"})`);
  return example.rules;
}

describe("README's subject rule examples", () => {
  it("are found in the Subject rules section and are valid stream settings", () => {
    expect([...examples.keys()]).toEqual(["Okta", "Keycloak"]);
    for (const [name, { rules }] of examples) expect(() => streamWith(rules, "https://idp.example.com"), name).not.toThrow();
  });

  describe("Okta", () => {
    const ISSUER = "https://acme.okta.com";
    const stream = streamWith(rulesOf("Okta"), ISSUER);
    const EMAIL = "build-bot@acme.com";
    const USER_ID = "00u8f3k2lqXyZ9AbC4x7";

    it("revokes the agent registered as okta:<email> for a user named by email, on either event", () => {
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, { event_timestamp: 1_767_225_600 }, { format: "email", email: EMAIL })))
        .toEqual({ scope: "agent", subject: `okta:${EMAIL}` });
      expect(outcome(stream, set(ISSUER, CREDENTIAL_CHANGE, { change_type: "delete", credential_type: "fido2-roaming" }, { format: "email", email: EMAIL })))
        .toEqual({ scope: "agent", subject: `okta:${EMAIL}` });
    });

    it("revokes the agent of a complex subject's user.email, not the session it names", () => {
      const complex = { format: "complex", user: { format: "email", email: EMAIL }, session: { format: "opaque", id: "102VxmFo1rTQ2KbT0XGy3kAhQ" } };
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, { initiating_entity: "admin" }, complex))).toEqual({ scope: "agent", subject: `okta:${EMAIL}` });
      // The same subject inside the event (CAEP drafts) maps the same way.
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, {}, complex, "event"))).toEqual({ scope: "agent", subject: `okta:${EMAIL}` });
    });

    it("revokes the agent registered as okta:<user id> for a user named by iss_sub, at the top or as a complex subject's user", () => {
      const issSub = { format: "iss_sub", iss: ISSUER, sub: USER_ID };
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, {}, issSub))).toEqual({ scope: "agent", subject: `okta:${USER_ID}` });
      expect(outcome(stream, set(ISSUER, CREDENTIAL_CHANGE, { change_type: "revoke" }, issSub))).toEqual({ scope: "agent", subject: `okta:${USER_ID}` });
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, {}, { format: "complex", user: issSub, session: { format: "opaque", id: "102VxmFo1rTQ2KbT0XGy3kAhQ" } }))).toEqual({ scope: "agent", subject: `okta:${USER_ID}` });
    });
  });

  describe("Keycloak", () => {
    const ISSUER = "https://sso.acme.example/realms/agents";
    const stream = streamWith(rulesOf("Keycloak"), ISSUER);
    const USER = "f0c3a4e2-7b51-4c1e-9d2a-5e8b6f1d3c90";
    const SESSION = "3b1f9c2e-8d4a-4f6b-a1e7-0c5d9e2b7a41";

    it("revokes the session kc:<session id> when the subject carries one", () => {
      const complex = { format: "complex", user: { format: "iss_sub", iss: ISSUER, sub: USER }, session: { format: "opaque", id: SESSION } };
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, { event_timestamp: 1_767_225_600 }, complex))).toEqual({ scope: "session", subject: `kc:${SESSION}` });
    });

    it("revokes the agent kc:<user id> when a session revocation names only the user, by iss_sub or as a complex subject without a session", () => {
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, {}, { format: "iss_sub", iss: ISSUER, sub: USER }))).toEqual({ scope: "agent", subject: `kc:${USER}` });
      const userOnly = { format: "complex", user: { format: "iss_sub", iss: ISSUER, sub: USER } };
      expect(outcome(stream, set(ISSUER, SESSION_REVOKED, {}, userOnly))).toEqual({ scope: "agent", subject: `kc:${USER}` });
    });

    it("revokes the credential named by a token revocation's jti, without a prefix", () => {
      const jti = "onrtac:6f1e2d3c-4b5a-4978-8e6f-5a4b3c2d1e0f";
      expect(outcome(stream, set(ISSUER, CREDENTIAL_CHANGE, { change_type: "revoke", credential_type: "bearer" }, { format: "jwt_id", iss: ISSUER, jti })))
        .toEqual({ scope: "credential", subject: jti });
    });

    it("maps a credential change naming the user, not the token, to nothing", () => {
      expect(outcome(stream, set(ISSUER, CREDENTIAL_CHANGE, { change_type: "revoke" }, { format: "iss_sub", iss: ISSUER, sub: USER }))).toBe("unmapped");
    });
  });
});
