// The assistants capability: an assistant's settings (persona, sampling, model version, knowledge),
// their validation, history and defaults. Generating an answer for them is the chat turn's job.
export { DEFAULT_SAMPLING, DEFAULT_SYSTEM_PROMPT, ensureDefaultAssistant } from "./defaults";
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
  samplingSchema,
  type AssistantPatch,
  type AssistantSettings,
  type AssistantSettingsInput,
  type GenerationSettings,
  type Persona,
} from "./settings";
