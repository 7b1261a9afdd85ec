import { Suspense } from "react";
import { AgentsListView } from "@/components/views/agents-list";
import { Loading } from "@/components/ui/states";

export const metadata = { title: "Agents · Revenant" };

export default function AgentsPage() {
  return (
    <Suspense fallback={<Loading height={600} />}>
      <AgentsListView />
    </Suspense>
  );
}
