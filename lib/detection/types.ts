/**
 * Result shapes of detection (docs/SEMANTICS.md), shared by the in-memory reference
 * (test/oracle/reference.ts, the test oracle) and the ClickHouse engine.
 * Field names follow the API shapes of docs/API.md.
 */
import type { Decision, RevocationScope, Sensitivity } from "../events/schema";

export interface DetectionSettings {
  /** Grace after the revocation's effective time, in ms (default 0, docs/SEMANTICS.md point 1). */
  graceMs: number;
  /** Per-layer overrides of graceMs, for layers with known clock skew. */
  layerGraceMs: Record<string, number>;
}

export const DEFAULT_DETECTION_SETTINGS: DetectionSettings = { graceMs: 0, layerGraceMs: {} };

export function graceFor(settings: DetectionSettings, layer: string): number {
  return settings.layerGraceMs[layer] ?? settings.graceMs;
}

export type Via = "direct" | "cascade";

/** One covered action inside one revocation's window: a row of the investigator list. */
export interface PostRevocationAction {
  event_id: string;
  revocation_id: string;
  violation: boolean;
  via: Via;
  time: string;
  agent_id: string;
  pipeline_id: string;
  session_id: string;
  credential_id: string;
  layer: string;
  action: string;
  resource: string;
  decision: Decision;
  sensitivity: Sensitivity | "";
}

export type Containment = "contained" | "partial" | "uncontained";

/** A revocation as detection describes it: the event, and the end of its window when reinstated. */
export interface RevocationInfo {
  event_id: string;
  time: string;
  scope: RevocationScope;
  subject: string;
  cascade: boolean;
  reason: string;
  initiated_by: string;
  /** Time of the first reinstatement of the same scope and subject after `time`, else null. */
  reinstated_at: string | null;
}

export type LayerStatus = "enforcing" | "leaking";

export interface RevocationSummary extends RevocationInfo {
  containment: Containment;
  /** Only layers that saw post-revocation actions; a missing layer is "silent". */
  layers: Record<string, LayerStatus>;
  /** Per layer with a blocked attempt: first blocked attempt minus the revocation time. */
  propagation_ms: Record<string, number>;
  violation_count: number;
  blocked_count: number;
}

export const ALERT_RULES = ["post_revocation_activity", "delegated_authority_leak", "partial_containment"] as const;
export type AlertRule = (typeof ALERT_RULES)[number];
export const ALERT_SEVERITIES = ["high", "critical"] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** What detection derives for an alert; status and timestamps are added by the alert store. */
export interface DerivedAlert {
  /** Stable: derived from the dedup key (rule + revocation event_id [+ agent_id]). */
  id: string;
  rule: AlertRule;
  severity: AlertSeverity;
  revocation_id: string;
  agent_id: string | null;
  pipeline_id: string | null;
  layers_enforcing: string[];
  layers_leaking: string[];
  violation_count: number;
  first_violation_at: string;
  last_violation_at: string;
  /** Up to SAMPLE_EVENT_IDS event ids of violations, earliest first (ties by event_id). */
  sample_event_ids: string[];
}

export const SAMPLE_EVENT_IDS = 10;

export interface DetectionResult {
  pairs: PostRevocationAction[];
  revocations: RevocationSummary[];
  alerts: DerivedAlert[];
}
