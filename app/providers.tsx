"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { liveInterval, retryUnlessClientError } from "@/components/data/query";
import { TimeZoneProvider } from "@/components/ui/time";

export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            refetchInterval: liveInterval,
            // Keep polling on a wall screen that never gets focus.
            refetchIntervalInBackground: true,
            staleTime: 1000,
            retry: retryUnlessClientError,
          },
        },
      }),
  );
  return (
    <QueryClientProvider client={client}>
      <TimeZoneProvider>{children}</TimeZoneProvider>
    </QueryClientProvider>
  );
}
