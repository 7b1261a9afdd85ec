import { Suspense } from "react";
import { InvestigateView } from "@/components/views/investigate";
import { Loading } from "@/components/ui/states";

export const metadata = { title: "Investigate · Revenant" };

export default function InvestigatePage() {
  return (
    <Suspense fallback={<Loading height={600} />}>
      <InvestigateView />
    </Suspense>
  );
}
