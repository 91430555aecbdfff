import type { Metadata } from "next";
import { AssistantEditor } from "../_components/assistant-editor";

export const metadata: Metadata = { title: "New assistant" };

export default function NewAssistantPage() {
  return <AssistantEditor assistantId={null} />;
}
