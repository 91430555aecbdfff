import type { Metadata } from "next";
import { AssistantEditor } from "../_components/assistant-editor";

export const metadata: Metadata = { title: "Assistant" };

export default async function AssistantPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AssistantEditor key={id} assistantId={id} />;
}
