"use client";
/**
 * Where an event came from when a standard intake made it (README.md, "Standard intakes"):
 * the OpenTelemetry service and span of a tool call, or the SSF stream and SET of a revocation.
 */
import type { TimelineEvent } from "@/components/data/types";

export function EventOrigin({ event }: { event: TimelineEvent }) {
  const a = event.attributes ?? {};
  const origin = a["revenant.origin"];
  if (origin === "otlp") {
    return (
      <div data-testid="event-origin">
        <h3>Origin: OpenTelemetry</h3>
        <dl className="kv">
          <dt>service</dt>
          <dd>{a["otel.service.name"] || "—"}</dd>
          <dt>span</dt>
          <dd>{a["otel.span.name"] || "—"}</dd>
          <dt>trace / span id</dt>
          <dd className="mono">
            {event.trace_id} / {event.span_id}
          </dd>
          {a["otel.status.code"] && (
            <>
              <dt>status</dt>
              <dd>
                {a["otel.status.code"]}
                {a["error.type"] ? ` (${a["error.type"]})` : ""}
              </dd>
            </>
          )}
          <dt>original export</dt>
          <dd className="mono">
            {a["otel.export_id"] ? (
              <a href={`/api/v1/otlp-exports?id=${encodeURIComponent(a["otel.export_id"])}`} target="_blank" rel="noreferrer">
                {a["otel.export_id"]}
              </a>
            ) : (
              "—"
            )}
          </dd>
        </dl>
      </div>
    );
  }
  if (origin === "ssf") {
    return (
      <div data-testid="event-origin">
        <h3>Origin: Shared Signals</h3>
        <dl className="kv">
          <dt>stream</dt>
          <dd>{a["ssf.stream"] || a["ssf.stream_id"]}</dd>
          <dt>issuer</dt>
          <dd className="mono">{a["ssf.iss"]}</dd>
          <dt>event</dt>
          <dd>{(a["ssf.event_type"] ?? "").split("/").pop()}</dd>
          <dt>jti</dt>
          <dd className="mono">{a["ssf.jti"]}</dd>
        </dl>
      </div>
    );
  }
  return null;
}
