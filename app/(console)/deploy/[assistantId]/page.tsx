import type { Metadata } from "next";
import { DeployView } from "../_components/deploy-view";

export const metadata: Metadata = { title: "Deploy assistant" };

export default async function DeployAssistantPage({ params }: { params: Promise<{ assistantId: string }> }) {
  const { assistantId } = await params;
  return <DeployView assistantId={assistantId} />;
}
