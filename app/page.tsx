import { Suspense } from "react";
import { OverviewView } from "@/components/views/overview";
import { Loading } from "@/components/ui/states";

export default function Home() {
  return (
    <Suspense fallback={<Loading height={600} />}>
      <OverviewView />
    </Suspense>
  );
}
