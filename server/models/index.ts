// The models capability: every GGUF Atelier knows (base, fine-tuned, LoRA) with lineage, local
// registration, Hugging Face downloads, and how a row is served by the engine.
export { assertHubReachable, downloadModel, parseHfUri, type DownloadEvent } from "./download";
export { addLocalModel, factsToColumns, getModelRow, listModels, removeModel, servingSpecFor, toModelView, type ModelView } from "./registry";
export { ensureStarterModel } from "./starter";
