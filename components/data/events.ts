/** One event with its provenance and conflicting copies (GET /api/v1/events/{id}, analyst and above). */
import { useQuery } from "@tanstack/react-query";
import { api } from "./api";
import { retryUnlessClientError } from "./query";
import type { EventDetail } from "./types";

export function useEventDetail(eventId: string) {
  return useQuery({
    queryKey: ["events", "detail", eventId],
    queryFn: ({ signal }) => api<EventDetail>(`/events/${encodeURIComponent(eventId)}`, { signal }),
    retry: retryUnlessClientError,
  });
}
