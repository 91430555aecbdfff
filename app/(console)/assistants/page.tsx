import type { Metadata } from "next";
import { AssistantsList } from "./_components/assistants-list";

export const metadata: Metadata = { title: "Assistants" };

export default function AssistantsPage() {
  return <AssistantsList />;
}
