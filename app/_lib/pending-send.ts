/**
 * Hand-off for the first message of a new chat: the new-chat page creates the conversation,
 * parks the text here and navigates to /chat/[id], whose view takes it and streams the reply.
 * Module state lives for the browser tab's lifetime, which is exactly what's needed.
 */
const pending = new Map<string, string>();

export function setPendingSend(conversationId: string, content: string): void {
  pending.set(conversationId, content);
}

export function takePendingSend(conversationId: string): string | undefined {
  const content = pending.get(conversationId);
  pending.delete(conversationId);
  return content;
}

export function peekPendingSend(conversationId: string): string | undefined {
  return pending.get(conversationId);
}
