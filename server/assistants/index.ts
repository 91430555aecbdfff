// The assistants capability: an assistant's settings (persona, sampling, model version, knowledge),
// their validation, history and defaults. Generating an answer for them is the chat turn's job.
export { DEFAULT_OUT_OF_SCOPE_REPLY, DEFAULT_SAMPLING, DEFAULT_SYSTEM_PROMPT, ensureDefaultAssistant, STARTER_OUT_OF_SCOPE_REPLY, STARTER_SCOPE_NOTE } from "./defaults";
export { assistantView, getAssistant, type AssistantView } from "./lookup";
export {
  assistantHistory,
  createAssistant,
  defaultSettings,
  duplicateAssistant,
  getAssistantDetail,
  listAssistants,
  setArchived,
  setDefaultAssistant,
  settingsOf,
  updateAssistant,
  type AssistantDetail,
  type AssistantHistoryEntry,
  type AssistantStatus,
} from "./service";
export {
  ASSISTANT_LIMITS,
  assistantPatchSchema,
  assistantSettingsSchema,
  retrievalSchema,
  samplingSchema,
  type AssistantPatch,
  type AssistantSettings,
  type AssistantSettingsInput,
  type GenerationSettings,
  type Persona,
} from "./settings";
