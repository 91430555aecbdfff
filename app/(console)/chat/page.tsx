import type { Metadata } from "next";
import { NewChat } from "./_components/new-chat";

export const metadata: Metadata = { title: "New chat" };

/** `/chat?assistant=<id>` starts with that assistant picked (the assistants page links here). */
export default async function NewChatPage({ searchParams }: { searchParams: Promise<{ assistant?: string | string[] }> }) {
  const { assistant } = await searchParams;
  return <NewChat initialAssistantId={typeof assistant === "string" ? assistant : undefined} />;
}
