"use client";
/**
 * Where a revocation came from. A Shared Signals revocation keeps the SET it was made from
 * (README.md, "Shared Signals"): the stream, the jti, the claims as verified and the token as
 * received, so an investigator can show the identity provider exactly what it sent. Every
 * revocation, SSF or not, also has the provenance of its event (Kafka coordinates, or the
 * API caller that posted it), which GET /api/v1/events/{id} gives to analysts.
 */
import type { RevocationDetail, SetSource } from "@/components/data/types";
import { CopyButton } from "@/components/ui/copy-button";
import { EventProvenance } from "@/components/ui/event-provenance";
import { Time } from "@/components/ui/time";

/** The event type's last path segment ("session-revoked") is what people recognise; the full URI stays in the title. */
const shortEventType = (uri: string) => uri.split("/").pop() || uri;

function SetSourceFacts({ source }: { source: SetSource }) {
  return (
    <div data-testid="revocation-set">
      <h3>Shared Signals (SSF)</h3>
      <dl className="kv">
        <dt>stream</dt>
        <dd data-testid="set-stream">
          {source.stream_name || <span className="muted">(stream deleted)</span>} <span className="faint">{source.stream_id}</span>
        </dd>
        <dt>jti</dt>
        <dd data-testid="set-jti">{source.jti}</dd>
        <dt>event type</dt>
        <dd title={source.event_type}>{shortEventType(source.event_type)}</dd>
        <dt>issuer</dt>
        <dd>{source.iss}</dd>
        <dt>delivery</dt>
        <dd>{source.delivery}</dd>
        <dt>received</dt>
        <dd>
          <Time value={source.received_at} />
        </dd>
      </dl>
      <h3>Claims, as verified</h3>
      <pre className="json" data-testid="set-claims">
        {JSON.stringify(source.claims, null, 2)}
      </pre>
      {/* Collapsed: a long opaque string most readers do not need, but the evidence when one does. */}
      <details data-testid="set-raw">
        <summary className="muted">The SET as received (raw JWT)</summary>
        <div className="row" style={{ margin: "8px 0" }}>
          <CopyButton text={source.raw} label="Copy JWT" testId="copy-jwt" />
        </div>
        <pre className="json" style={{ whiteSpace: "pre-wrap", wordBreak: "break-all" }}>
          {source.raw}
        </pre>
      </details>
    </div>
  );
}

export function RevocationOriginCard({ revocation }: { revocation: RevocationDetail }) {
  return (
    <div className="card" data-testid="revocation-origin">
      <div className="card-head">
        <h2>Origin</h2>
      </div>
      {revocation.source ? (
        <SetSourceFacts source={revocation.source} />
      ) : (
        <p className="muted" data-testid="revocation-native">
          A revocation event sent to Revenant directly (Kafka or POST /api/v1/events), not through a Shared Signals stream.
        </p>
      )}
      <EventProvenance eventId={revocation.event_id} />
    </div>
  );
}
