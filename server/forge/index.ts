import "server-only";
// Public API of the forge (training). See docs/ARCHITECTURE.md and models/README.md.
export { ForgeError, isForgeError, type ForgeErrorCode, type NativeErrorCode } from "./errors";
export { forgeBinaryAvailable, forgeBinaryPath, repoRoot } from "./binary";
export {
  startTraining,
  resumeTraining,
  evaluate,
  quantize,
  mergeLora,
  readCheckpointInfo,
  parseProgressLine,
  TrainConfigSchema,
  ProgressEventSchema,
  type TrainConfig,
  type TrainConfigInput,
  type ProgressEvent,
  type StepEvent,
  type TrainResult,
  type TrainingRun,
  type EvalResult,
  type QuantType,
  type RunOptions,
} from "./trainer";
export {
  buildDataset,
  tokenizeChat,
  tokenizeDocument,
  forgeTokenizerFromBpe,
  forgeTokenizerFromModel,
  loadTokenizerModel,
  loadCorpusFile,
  toChatRecord,
  splitHeldOut,
  writeAtds,
  readAtds,
  type ChatRecord,
  type TextDocument,
  type ForgeTokenizer,
  type BuiltDataset,
  type BuildDatasetOptions,
} from "./dataset";
export { ProgressPrinter } from "./progress";
export { STARTER_SYSTEM_PROMPT } from "./starter/recipe";
