"use client";
/** The full event, in a side drawer: opened by clicking a timeline mark or a table row, closed with Esc. */
import Link from "next/link";
import { useEffect, useRef } from "react";
import type { TimelineEvent } from "@/components/data/types";
import { DecisionBadge } from "./badges";
import { Time } from "./time";
import { EventOrigin } from "./event-origin";
import { EventProvenance } from "./event-provenance";
import { AgentLink, PipelineLink, RevocationLink, revocationHref } from "./links";
import { markKind } from "@/components/timeline/model";

export function EventDrawer({ event, onClose }: { event: TimelineEvent | null; onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  const latestOnClose = useRef(onClose);
  useEffect(() => {
    latestOnClose.current = onClose;
  }, [onClose]);
  // Keyed by the event's id, not the object: a live page polls, and every poll hands over a
  // new object for the same event. Keyed by the object, each poll took the focus back to
  // "Close" from wherever the analyst had moved it inside the drawer.
  const openId = event?.event_id ?? null;
  useEffect(() => {
    if (!openId) return;
    const prev = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && latestOnClose.current();
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      prev?.focus?.();
    };
  }, [openId]);
  if (!event) return null;
  const kind = markKind(event);
  const flags = event.post_revocation ?? [];
  return (
    <>
      <div className="drawer-backdrop" onClick={onClose} />
      <aside className="drawer" role="dialog" aria-modal="true" aria-label="Event details" data-testid="event-drawer">
        <div className="drawer-head">
          <h2 className="truncate mono">{event.event_id}</h2>
          {kind === "violation" || kind === "blocked" ? <DecisionBadge decision={event.decision} violation={kind === "violation"} /> : null}
          {/* A revocation event is the revocation: its page has the containment, the alerts and the origin. */}
          {event.type === "revocation" && (
            <Link className="btn btn-sm" href={revocationHref(event.event_id)} prefetch={false}>
              Open revocation →
            </Link>
          )}
          <button ref={closeRef} type="button" className="btn btn-sm" style={{ marginLeft: "auto" }} onClick={onClose}>
            Close (Esc)
          </button>
        </div>
        <div className="drawer-body stack">
          <dl className="kv">
            <dt>time</dt>
            <dd>
              <Time value={event.time} />
            </dd>
            <dt>type</dt>
            <dd>{event.type}</dd>
            <dt>agent</dt>
            <dd>
              <AgentLink id={event.agent_id} />
            </dd>
            <dt>pipeline</dt>
            <dd>
              <PipelineLink id={event.pipeline_id} />
            </dd>
            <dt>session</dt>
            <dd>{event.session_id || "—"}</dd>
            <dt>credential</dt>
            <dd>{event.credential_id || "—"}</dd>
            <dt>layer</dt>
            <dd>{event.layer || "—"}</dd>
            <dt>source</dt>
            <dd>{event.source || "—"}</dd>
            <dt>action</dt>
            <dd>{event.action || "—"}</dd>
            <dt>resource</dt>
            <dd>{event.resource || "—"}</dd>
            <dt>decision</dt>
            <dd>{event.decision || "—"}</dd>
            <dt>sensitivity</dt>
            <dd>{event.sensitivity || "—"}</dd>
          </dl>
          <EventOrigin event={event} />
          <EventProvenance eventId={event.event_id} />
          {flags.length > 0 && (
            <div>
              <h3>After revocation</h3>
              <table className="simple">
                <thead>
                  <tr>
                    <th>revocation</th>
                    <th>via</th>
                    <th>verdict</th>
                  </tr>
                </thead>
                <tbody>
                  {flags.map((f) => (
                    <tr key={f.revocation_id}>
                      <td>
                        <RevocationLink id={f.revocation_id} />
                      </td>
                      <td>{f.via}</td>
                      <td>
                        <DecisionBadge decision={event.decision} violation={f.violation} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div>
            <h3>Raw</h3>
            <pre className="json">{JSON.stringify(event, null, 2)}</pre>
          </div>
        </div>
      </aside>
    </>
  );
}
