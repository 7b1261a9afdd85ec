import { Suspense } from "react";
import { PipelineDetailView } from "@/components/views/pipeline-detail";
import { Loading } from "@/components/ui/states";
import { decodeSegment } from "@/components/ui/segment";

export const metadata = { title: "Pipeline · Revenant" };

export default async function PipelinePage({ params }: { params: Promise<{ pipeline_id: string }> }) {
  const { pipeline_id } = await params;
  const id = decodeSegment(pipeline_id);
  return (
    <Suspense fallback={<Loading height={600} />}>
      <PipelineDetailView key={id} pipelineId={id} />
    </Suspense>
  );
}
