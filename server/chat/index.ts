// The chat capability: conversations and the chat turn. Every answer Atelier gives (console,
// Try it, widget, OpenAI-compatible API, evaluations) goes through ./turn.
export {
  createConversation,
  deleteConversation,
  getConversation,
  listConversations,
  listMessages,
  NEW_CHAT_TITLE,
  renameConversation,
} from "./conversations";
export { answer, generateTurn, prepareTurn, type PreparedTurn, type TurnEvent } from "./turn/answer";
export { assistantTurnConfig, type TurnConfig } from "./turn/config";
export { composeSystemPrompt, renderPrompt, resolveModel, windowTurns, type ResolvedModel } from "./turn/generate";
export { markInterruptedAnswers, sendChat, sendInput, validateContent, type ChatEvent, type SendInput } from "./turn/send";
export { previewPrompt, tryIt, tryItInput, draftSchema, MAX_TRY_MESSAGES, type TryItEvent, type TryItInput } from "./turn/try-it";
