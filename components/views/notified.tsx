"use client";
/** Per revocation: which enforcement points (SSF receivers) were told, and when they acknowledged. */
import { useRevocationNotifications } from "@/components/data/revocations";
import { ErrorState, Loading } from "@/components/ui/states";
import { Time } from "@/components/ui/time";

const METHOD: Record<string, string> = { "urn:ietf:rfc:8935": "push", "urn:ietf:rfc:8936": "poll" };

export function NotifiedCard({ revocationId }: { revocationId: string }) {
  const q = useRevocationNotifications(revocationId);
  return (
    <div className="card" data-testid="notified">
      <div className="card-head">
        <h2>Enforcement points told</h2>
      </div>
      {q.error ? (
        <ErrorState error={q.error} height={80} />
      ) : !q.data ? (
        <Loading height={80} />
      ) : q.data.items.length === 0 ? (
        <p className="muted">No SSF receiver was told (none registered, or none wants these events).</p>
      ) : (
        <dl className="kv">
          {q.data.items.map((n) => (
            <div key={n.stream_id} style={{ display: "contents" }}>
              <dt className="mono">
                {n.aud}
                {n.layer && <div className="faint">layer {n.layer}</div>}
              </dt>
              <dd>
                {n.leaking_after_ack && (
                  <div style={{ color: "var(--violation)", fontWeight: 600 }} data-testid="leaking-after-ack">
                    ▲ still leaking after it acknowledged (last violation <Time value={n.last_violation_at!} />)
                  </div>
                )}
                {METHOD[n.delivery_method] ?? n.delivery_method}: {n.acknowledged}/{n.sets} acknowledged
                {n.pending > 0 && <span className="faint">, {n.pending} pending</span>}
                {n.failed > 0 && <span style={{ color: "var(--violation)" }}>, {n.failed} failed</span>}
                <div className="faint">
                  told <Time value={n.told_at} />
                </div>
                {n.acknowledged_at && (
                  <div className="faint">
                    acknowledged <Time value={n.acknowledged_at} />
                  </div>
                )}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}
