"use client";
/**
 * How the stored copy of an event arrived, and the later copies with other content that
 * were kept aside instead of replacing it (docs/EVENTS.md, "First copy wins" and "Provenance").
 * Read from GET /api/v1/events/{id}, which needs the analyst role: a viewer is told so.
 */
import { ApiClientError } from "@/components/data/api";
import { useEventDetail } from "@/components/data/events";
import { Time } from "./time";

const coordinates = (k: { topic: string; partition: number; offset: string }) => `${k.topic || "(topic not recorded)"} / ${k.partition} / ${k.offset}`;

export function EventProvenance({ eventId }: { eventId: string }) {
  const { data, error, isPending } = useEventDetail(eventId);
  if (isPending) return <p className="muted">Loading provenance…</p>;
  if (error || !data) {
    const forbidden = error instanceof ApiClientError && error.status === 403;
    return <p className="muted" data-testid="event-provenance">{forbidden ? "Provenance and conflicting copies need the analyst role." : `Provenance unavailable: ${(error as Error | null)?.message ?? "no answer"}`}</p>;
  }
  const p = data.provenance;
  return (
    <div data-testid="event-provenance">
      <h3>Provenance</h3>
      <dl className="kv">
        <dt>arrived via</dt>
        <dd>{p.via === "http" ? "POST /api/v1/events" : "Kafka"}</dd>
        {p.submitted_by && (
          <>
            <dt>submitted by</dt>
            <dd data-testid="event-submitted-by">{p.submitted_by}</dd>
          </>
        )}
        <dt>topic / partition / offset</dt>
        <dd data-testid="event-kafka-coordinates">{coordinates(p.kafka)}</dd>
        <dt>stored</dt>
        <dd>
          <Time value={p.ingested_at} />
        </dd>
        <dt>SHA-256</dt>
        <dd>{p.content_hash || "—"}</dd>
      </dl>
      {data.conflicts.length > 0 && (
        <div data-testid="event-conflicts">
          <h3>Conflicting copies ({data.conflicts.length}), not stored</h3>
          <table className="simple">
            <thead>
              <tr>
                <th>received</th>
                <th>from</th>
                <th>payload</th>
              </tr>
            </thead>
            <tbody>
              {data.conflicts.map((c) => (
                <tr key={`${c.kafka.partition}:${c.kafka.offset}`}>
                  <td>
                    <Time value={c.received_at} />
                  </td>
                  <td className="mono">{c.submitted_by ?? coordinates(c.kafka)}</td>
                  <td>
                    <pre className="json">{c.payload}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
