import type { ChatHistoryItem } from "node-llama-cpp";

export type Turn = { role: "user" | "assistant"; content: string };

/**
 * The chat history handed to node-llama-cpp's chat wrapper. Serving and training (forge's
 * dataset packing) both build it here, so a model is trained on exactly the text it is served.
 * The last item is the model turn being generated: empty when serving, the answer when training.
 */
export function toChatHistory(systemPrompt: string, turns: Turn[], answer = ""): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  if (systemPrompt.trim()) history.push({ type: "system", text: systemPrompt });
  for (const t of turns) {
    history.push(t.role === "user" ? { type: "user", text: t.content } : { type: "model", response: [t.content] });
  }
  history.push({ type: "model", response: answer ? [answer] : [] });
  return history;
}
