import type { Metadata } from "next";
import { ImproveView } from "../_components/improve-view";

export const metadata: Metadata = { title: "Improve assistant" };

export default async function ImproveAssistantPage({ params }: { params: Promise<{ assistantId: string }> }) {
  const { assistantId } = await params;
  return <ImproveView assistantId={assistantId} />;
}
