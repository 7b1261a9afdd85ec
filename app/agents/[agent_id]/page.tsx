import { Suspense } from "react";
import { AgentDetailView } from "@/components/views/agent-detail";
import { Loading } from "@/components/ui/states";
import { decodeSegment } from "@/components/ui/segment";

export const metadata = { title: "Agent · Revenant" };

export default async function AgentPage({ params }: { params: Promise<{ agent_id: string }> }) {
  const { agent_id } = await params;
  const id = decodeSegment(agent_id);
  return (
    <Suspense fallback={<Loading height={600} />}>
      <AgentDetailView key={id} agentId={id} />
    </Suspense>
  );
}
