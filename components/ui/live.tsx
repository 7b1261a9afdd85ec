"use client";
/**
 * "live · last data at …": the newest successful answer among the queries this page is
 * watching, and amber "stale" when the latest poll failed (not when it was refused). Reads the react-query cache,
 * so every page gets it without wiring.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { isSettledRefusal } from "@/components/data/query";
import { useFormatTime } from "./time";

export function LiveIndicator() {
  const qc = useQueryClient();
  const fmt = useFormatTime();
  const [state, setState] = useState<{ at: number; failing: boolean }>({ at: 0, failing: false });
  useEffect(() => {
    const read = () => {
      let at = 0;
      let failing = false;
      for (const q of qc.getQueryCache().getAll()) {
        if (q.getObserversCount() === 0) continue;
        at = Math.max(at, q.state.dataUpdatedAt);
        // A refusal (a viewer's 403 for provenance, say) is an answer, not a failed poll.
        if (q.state.errorUpdatedAt > q.state.dataUpdatedAt && q.state.status === "error" && !isSettledRefusal(q.state.error)) failing = true;
      }
      setState((s) => (s.at === at && s.failing === failing ? s : { at, failing }));
    };
    read();
    const t = setInterval(read, 500);
    return () => clearInterval(t);
  }, [qc]);
  const label = state.at ? fmt(state.at, { ms: false, date: false }) : "—";
  return (
    <div className={`live ${state.failing ? "live-stale" : state.at ? "live-ok" : "live-wait"}`} data-testid="live-indicator" role="status" aria-live="off">
      <span className="live-dot" aria-hidden="true" />
      <span>{state.failing ? "stale" : "live"}</span>
      <span className="muted">· last data at</span>
      <span className="ts">{label}</span>
    </div>
  );
}
