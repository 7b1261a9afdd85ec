import { Suspense } from "react";
import { RevocationDetailView } from "@/components/views/revocation-detail";
import { Loading } from "@/components/ui/states";
import { decodeSegment } from "@/components/ui/segment";

// Viewer and above, like GET /api/v1/revocations/{event_id}: proxy.ts checks every page's role before it renders.
export const metadata = { title: "Revocation · Revenant" };

export default async function RevocationPage({ params }: { params: Promise<{ event_id: string }> }) {
  const { event_id } = await params;
  const id = decodeSegment(event_id);
  return (
    <Suspense fallback={<Loading height={600} />}>
      <RevocationDetailView key={id} eventId={id} />
    </Suspense>
  );
}
