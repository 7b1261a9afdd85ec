/**
 * API response shapes as the UI reads them (docs/API.md). Where lib/ already defines the
 * shape, it is imported (types only — nothing from lib/ runs in the browser), so the UI
 * and the API cannot drift apart silently.
 */
import type { Containment, LayerStatus, Via, AlertRule, AlertSeverity } from "@/lib/detection/types";
import type { ActionOrigin, PairWithOrigin } from "@/lib/queries/post-revocation";
import type { Alert, AlertHistoryEntry, AlertStatus } from "@/lib/alerts/store";
import type { Decision, EventType, RevocationScope, Sensitivity } from "@/lib/events/schema";
import type { AgentListItem, ContextSpan, CredentialInfo, TimelineEvent as ApiTimelineEvent } from "@/lib/queries/agents";
import type { RevocationRow } from "@/lib/queries/revocations";
import type { EventDetail } from "@/lib/queries/event-detail";
import type { AuditEntry } from "@/lib/auth/audit";
import type { ApiKey } from "@/lib/auth/keys";
import type { Role } from "@/lib/auth/roles";
import type { User } from "@/lib/auth/users";
import type { AuditListQuery } from "@/lib/queries/audit";
import type { DeliveryStore } from "@/lib/webhooks/deliveries";
import type { Endpoint, EndpointInput, EndpointWithSecret, endpointPatch } from "@/lib/webhooks/endpoints";
import type { TestDeliveryOutcome } from "@/lib/webhooks/dispatcher";
import type { StreamNotification } from "@/lib/transmitter/notified";
import type { z } from "zod";
import type { SetSource } from "@/lib/ssf/sets";

/** A pair as GET /api/v1/post-revocation-actions pages it: with the action's origin when a standard intake made it. */
export type PostRevocationAction = PairWithOrigin;
export type { ActionOrigin };
export type { Containment, LayerStatus, Via, Alert, AlertHistoryEntry, AlertStatus, AlertRule, AlertSeverity, Decision, EventType, RevocationScope, Sensitivity };
export type { AuditEntry, AuditListQuery, ApiKey, Role, User, TestDeliveryOutcome, EventDetail };

/** Settings: webhook endpoints (without their secret), and the one answer that carries it. */
export type WebhookEndpoint = Endpoint;
export type CreatedEndpoint = EndpointWithSecret;
export type EndpointCreate = Partial<EndpointInput> & { url: string };
export type EndpointChange = z.input<typeof endpointPatch>;
/** One row of GET /api/v1/webhooks/{id}/deliveries: the delivery (without its payload) and its attempts. */
export type DeliveryRow = Awaited<ReturnType<DeliveryStore["listForEndpoint"]>>["items"][number];
/** POST /api/v1/keys answers the key's secret this once. */
export type CreatedApiKey = ApiKey & { key: string };

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** A revocation announced over Shared Signals carries the SET it came from (GET /api/v1/revocations/{id}). */
export type Revocation = RevocationRow & { source?: SetSource | null };
/** GET /api/v1/revocations/{id}: the revocation with the alerts it raised and its source (null unless it came over SSF). */
export type RevocationDetail = RevocationRow & { source: SetSource | null; alerts: Alert[] };
export type { SetSource };
export type { StreamNotification };

export type AgentSummary = AgentListItem;

export interface SessionSummary {
  session_id: string;
  first_seen?: string | null;
  last_seen?: string | null;
  started_at?: string | null;
  ended_at?: string | null;
  event_count?: number;
  pipeline_id?: string | null;
  revoked?: boolean;
  [k: string]: unknown;
}

export type CredentialNode = CredentialInfo;

export interface AgentDetail extends AgentSummary {
  sessions: SessionSummary[];
  credentials: CredentialNode[];
  [k: string]: unknown;
}

export interface PostRevocationFlag {
  revocation_id: string;
  violation: boolean;
  via: Via;
}

export type TimelineEvent = ApiTimelineEvent;

export interface TimelineRevocation {
  event_id: string;
  time: string;
  scope: RevocationScope;
  subject: string;
  reinstated_at: string | null;
  [k: string]: unknown;
}

/** A span that is not a tool call (an invoke_agent span, a model call, a step): context on an agent's timeline, not an action. */
export type TimelineContextSpan = ContextSpan;

export interface TimelinePage extends Page<TimelineEvent> {
  revocations?: TimelineRevocation[];
  /** The agent's OpenTelemetry context spans in the time this page covers (agent timelines only). */
  context?: TimelineContextSpan[];
  context_truncated?: boolean;
}

export interface PipelineSummary {
  pipeline_id: string;
  agents: string[];
  first_seen?: string | null;
  last_seen?: string | null;
  event_count?: number;
  revoked?: boolean;
  containment?: Containment | null;
  violation_count?: number;
  revocation_count?: number;
  [k: string]: unknown;
}

export type MatrixStatus = "enforcing" | "leaking" | "silent";

export interface MatrixCell {
  agent_id: string;
  layer: string;
  status: MatrixStatus;
  [k: string]: unknown;
}

export interface PipelineMember {
  agent_id: string;
  layers: string[];
  first_seen: string;
  last_seen: string;
}

export interface PipelineDetail {
  pipeline_id: string;
  agents: PipelineMember[];
  layers?: string[];
  containment?: Containment | null;
  revocations: Revocation[];
  matrix: MatrixCell[];
  credentials: CredentialNode[];
  [k: string]: unknown;
}

export interface AlertDetail extends Alert {
  history: AlertHistoryEntry[];
  [k: string]: unknown;
}

export interface DeadLetterSummary {
  count: number;
  items: { received_at: string; origin: string; topic: string; partition: number; offset: number; reason: string; payload: string }[];
}

/** GET /api/v1/overview */
export interface Overview {
  from: string;
  to: string;
  bucket_seconds: number;
  counts: {
    agents_active: number;
    revocations: number;
    violations: number;
    blocked: number;
    partial: number;
    uncontained: number;
    open_alerts: Record<string, number>;
    dead_letters: number;
  };
  series: { time: string; violations: number; blocked: number }[];
  containment: Record<Containment, number>;
  leaking_layers: { layer: string; violations: number; blocked: number }[];
  propagation: { layer: string; median_ms: number; max_ms: number; revocations: number }[];
  newest_alerts: Alert[];
  last_event_at: string | null;
}

export interface Health {
  status: "ok" | "degraded" | string;
  kafka: { connected: boolean; error?: string | null; [k: string]: unknown };
  clickhouse: { ok: boolean; [k: string]: unknown };
  lag: number | null;
  [k: string]: unknown;
}
