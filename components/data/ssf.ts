/** Shared Signals streams (admin; docs/INTAKES.md, "Shared Signals"): list with status, add, change, verify, remove. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Stream, StreamInput, StreamPatch, StreamStatus } from "@/lib/ssf/streams";
import { api } from "./api";
import type { Page } from "./types";

/** A stream as GET /api/v1/ssf/streams lists it. */
export type SsfStream = Stream & { push_path: string | null; status: StreamStatus };
/** The answer to a creation: the push token is shown this once. */
export type CreatedSsfStream = SsfStream & { push_token: string | null };

export const ssfKeys = { all: ["ssf"] as const, list: () => ["ssf", "streams"] as const };

/** Polled every 15 s: a stream's last event and last error change while the page is open. */
export function useSsfStreams() {
  return useQuery({ queryKey: ssfKeys.list(), queryFn: ({ signal }) => api<Page<SsfStream>>("/ssf/streams", { signal }), refetchInterval: 15_000 });
}

function useSsfMutation<V, R>(fn: (v: V) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: ssfKeys.all }) });
}

export function useCreateSsfStream() {
  return useSsfMutation((body: StreamInput) => api<CreatedSsfStream>("/ssf/streams", { method: "POST", body }));
}

/** PATCH: push_token is set when the change made a new one (shown this once). */
export function useUpdateSsfStream() {
  return useSsfMutation(({ id, change }: { id: string; change: StreamPatch }) =>
    api<CreatedSsfStream>(`/ssf/streams/${encodeURIComponent(id)}`, { method: "PATCH", body: change }),
  );
}

export function useDeleteSsfStream() {
  return useSsfMutation((id: string) => api<void>(`/ssf/streams/${encodeURIComponent(id)}`, { method: "DELETE" }));
}

/**
 * Asks the stream's transmitter for a verification event (POST …/verify). The event usually
 * follows within a second: the list is read again then, besides at once.
 */
export function useVerifySsfStream() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<{ state: string; requested_at: string }>(`/ssf/streams/${encodeURIComponent(id)}/verify`, { method: "POST" }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ssfKeys.all });
      setTimeout(() => void qc.invalidateQueries({ queryKey: ssfKeys.all }), 2_000);
    },
  });
}
