import { Suspense } from "react";
import { PipelinesListView } from "@/components/views/pipelines-list";
import { Loading } from "@/components/ui/states";

export const metadata = { title: "Pipelines · Revenant" };

export default function PipelinesPage() {
  return (
    <Suspense fallback={<Loading height={600} />}>
      <PipelinesListView />
    </Suspense>
  );
}
