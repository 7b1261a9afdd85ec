/** Webhook endpoints: URL, signing secret, filters, enabled flag. */
import { randomBytes, randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { z } from "zod";
import { ALERT_RULES, ALERT_SEVERITIES } from "../detection/types";
import type { Alert } from "../alerts/store";
import { currentKeyId, open, seal, sealedWith } from "../auth/secret-box";
import { logger } from "../log";
import { newestFirstPage, type AdminListQuery } from "../queries/admin-lists";
import { insertRows, queryRows } from "../store/clickhouse";
import { nextVersion } from "../store/version";

export interface Endpoint {
  id: string;
  url: string;
  description: string;
  min_severity: (typeof ALERT_SEVERITIES)[number];
  rules: string[];
  pipelines: string[];
  enabled: boolean;
  created_at: string;
  created_by: string;
  updated_at: string;
}

/** With the secret: only for signing, never for the API (except once, at creation). */
export interface EndpointWithSecret extends Endpoint {
  secret: string;
}

/** The settable fields, without defaults: a patch must change only what it names. */
const endpointFields = {
  description: z.string().max(512),
  min_severity: z.enum(ALERT_SEVERITIES),
  rules: z.array(z.enum(ALERT_RULES)).max(ALERT_RULES.length),
  pipelines: z.array(z.string().min(1).max(256)).max(100),
  enabled: z.boolean(),
};

export const endpointInput = z.object({
  url: z.string().trim().min(1).max(2048),
  description: endpointFields.description.default(""),
  min_severity: endpointFields.min_severity.default("high"),
  rules: endpointFields.rules.default([]),
  pipelines: endpointFields.pipelines.default([]),
  enabled: endpointFields.enabled.default(true),
});
export type EndpointInput = z.infer<typeof endpointInput>;

// No defaults here (zod keeps inner defaults through .partial(), which would reset every
// field a patch leaves out, e.g. widen the filters of an endpoint when it is disabled).
export const endpointPatch = z.object(endpointFields).partial().strict();

export const newEndpointId = () => `ep_${randomUUID().replace(/-/g, "")}`;

/** Standard Webhooks secrets: "whsec_" + base64 of 32 random bytes. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

const SEVERITY_RANK: Record<string, number> = { high: 1, critical: 2 };

/** Empty rule or pipeline lists match everything. */
export function endpointMatches(e: Endpoint, alert: Pick<Alert, "severity" | "rule" | "pipeline_id">): boolean {
  if (!e.enabled) return false;
  if ((SEVERITY_RANK[alert.severity] ?? 0) < (SEVERITY_RANK[e.min_severity] ?? 0)) return false;
  if (e.rules.length > 0 && !e.rules.includes(alert.rule)) return false;
  if (e.pipelines.length > 0 && (!alert.pipeline_id || !e.pipelines.includes(alert.pipeline_id))) return false;
  return true;
}

const PUBLIC = "id, url, description, min_severity, rules, pipelines, enabled, created_at, created_by, updated_at";

export class EndpointStore {
  constructor(
    private readonly reader: ClickHouseClient,
    private readonly writer: ClickHouseClient,
  ) {}

  /** A page of endpoints without their secrets, newest first (docs/API.md, GET /webhooks). */
  list(q: AdminListQuery): Promise<{ items: Endpoint[]; next_cursor: string | null }> {
    return newestFirstPage<Endpoint>(this.reader, "webhooks:list", "webhook_endpoints", PUBLIC, q);
  }


  /**
   * Secrets are decrypted here (lib/auth/secret-box.ts); they are stored encrypted. An
   * endpoint whose secret cannot be opened (its key is no longer configured) keeps its
   * place with an empty secret: its deliveries are still recorded, and every attempt fails
   * unsent, backing off like any failure (lib/webhooks/dispatcher/attempt.ts), until the key
   * is back, while other endpoints go on.
   */
  async listWithSecrets(): Promise<EndpointWithSecret[]> {
    const rows = await queryRows<EndpointWithSecret>(this.reader, "webhooks:listSecrets", `SELECT ${PUBLIC}, secret FROM webhook_endpoints FINAL`);
    return rows.map((e) => {
      try {
        return { ...e, secret: open(e.secret) };
      } catch (err) {
        logger().error({ endpoint_id: e.id, err: (err as Error).message }, "webhook secret cannot be decrypted");
        return { ...e, secret: "" };
      }
    });
  }

  /** With its secret decrypted: throws SecretKeyMissingError when its key is no longer configured. */
  async getWithSecret(id: string): Promise<EndpointWithSecret | null> {
    const row = await this.stored(id);
    return row ? { ...row, secret: open(row.secret) } : null;
  }

  /**
   * The endpoint as stored, its secret still sealed: reading, changing and deleting it need no
   * key, so an endpoint whose secret cannot be opened can still be seen, disabled or removed.
   */
  private async stored(id: string): Promise<EndpointWithSecret | null> {
    const rows = await queryRows<EndpointWithSecret>(this.reader, "webhooks:get", `SELECT ${PUBLIC}, secret FROM webhook_endpoints FINAL WHERE id = {id:String}`, { id });
    return rows[0] ?? null;
  }

  /**
   * Re-encrypts every secret not sealed with the current key (plain text, or the previous
   * key after a rotation). Returns how many were rewritten.
   */
  async reseal(): Promise<number> {
    const current = currentKeyId();
    if (!current) return 0;
    const rows = await queryRows<EndpointWithSecret>(this.reader, "webhooks:listStored", `SELECT ${PUBLIC}, secret FROM webhook_endpoints FINAL`);
    const stale = rows.filter((e) => sealedWith(e.secret) !== current);
    for (const e of stale) await this.writeSealed({ ...e, secret: seal(open(e.secret)) }, 0);
    return stale.length;
  }

  async get(id: string): Promise<Endpoint | null> {
    const e = await this.stored(id);
    return e ? withoutSecret(e) : null;
  }

  /** The URL must already be vetted (vetUrl). Returns the endpoint with its secret, the one time it is shown. */
  async create(input: EndpointInput, createdBy: string, id = newEndpointId()): Promise<EndpointWithSecret> {
    const now = new Date().toISOString();
    const e: EndpointWithSecret = { id, secret: newSecret(), ...input, created_at: now, created_by: createdBy, updated_at: now };
    await this.writeSealed({ ...e, secret: seal(e.secret) }, 0);
    return e;
  }

  async update(id: string, patch: z.infer<typeof endpointPatch>): Promise<Endpoint | null> {
    const current = await this.stored(id);
    if (!current) return null;
    const next = { ...current, ...patch, updated_at: new Date().toISOString() };
    await this.writeSealed(next, 0);
    return withoutSecret(next);
  }

  async delete(id: string): Promise<boolean> {
    const current = await this.stored(id);
    if (!current) return false;
    await this.writeSealed({ ...current, updated_at: new Date().toISOString() }, 1);
    return true;
  }

  /** Writes a version of the endpoint; its secret is already sealed (lib/auth/secret-box.ts). */
  private async writeSealed(e: EndpointWithSecret, isDeleted: number): Promise<void> {
    await insertRows(this.writer, "webhook_endpoints", [{ ...e, version: nextVersion(), is_deleted: isDeleted }], { comment: "webhooks:write" });
  }
}

export function withoutSecret(e: EndpointWithSecret): Endpoint {
  const { secret: _s, ...rest } = e;
  return rest;
}
