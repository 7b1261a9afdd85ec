import { Suspense } from "react";
import { AlertDetailView } from "@/components/views/alert-detail";
import { Loading } from "@/components/ui/states";
import { decodeSegment } from "@/components/ui/segment";

export const metadata = { title: "Alert · Revenant" };

export default async function AlertPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const alertId = decodeSegment(id);
  return (
    <Suspense fallback={<Loading height={600} />}>
      <AlertDetailView key={alertId} alertId={alertId} />
    </Suspense>
  );
}
