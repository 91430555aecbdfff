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
export { composeSystemPrompt, renderPrompt, resolveModel, turnSampling, windowTurns, type ResolvedModel } from "./turn/generate";
export { contextOverflow, fitPrompt, type FittedPrompt, type OverflowCause } from "./turn/fit";
export { servingMeter, type PromptMeter } from "./turn/meter";
export { markInterruptedAnswers, sendChat, sendInput, validateContent, type ChatEvent, type SendInput, type TurnOverrides } from "./turn/send";
export { previewPrompt, tryIt, tryItInput, draftSchema, MAX_TRY_MESSAGES, type TryItEvent, type TryItInput } from "./turn/try-it";
export { MAX_FEEDBACK_COMMENT_CHARS, rateAnswer, validateFeedbackComment, type FeedbackSurface, type Rating } from "./feedback";
export { knowledgeRevision, personaRevision } from "./turn/revision";
export { registerArmResolver, type ArmChoice, type ArmResolver } from "./turn/arms";
