import { Suspense } from "react";
import { RevocationsListView } from "@/components/views/revocations-list";
import { Loading } from "@/components/ui/states";

// Viewer and above, like GET /api/v1/revocations: proxy.ts checks every page's role before it renders.
export const metadata = { title: "Revocations · Revenant" };

export default function RevocationsPage() {
  return (
    <Suspense fallback={<Loading height={600} />}>
      <RevocationsListView />
    </Suspense>
  );
}
