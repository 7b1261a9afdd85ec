import { Suspense } from "react";
import { AlertsListView } from "@/components/views/alerts-list";
import { Loading } from "@/components/ui/states";

export const metadata = { title: "Alerts · Revenant" };

export default function AlertsPage() {
  return (
    <Suspense fallback={<Loading height={600} />}>
      <AlertsListView />
    </Suspense>
  );
}
