// Forge, Atelier's training engine, as a library: the only import path from outside server/forge
// (the layer rules in .dependency-cruiser.cjs say so). The CLI (cli.ts) and the starter recipe
// (starter/) are entry scripts over the same API; the C++ trainer is in native/.
//   data/        training files → records → tokens + loss masks → packed ATDS rows
//   tokenizer/   a byte-level BPE for models crafted from scratch
//   trainer.ts   the typed API over the native `atelier-forge` process (train, eval, merge, quantize)
//   export/      Hugging Face formats: safetensors model + config + tokenizer, PEFT adapters
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
  type StartEvent,
  type StepEvent,
  type TrainResult,
  type TrainingRun,
  type EvalResult,
  type QuantType,
  type RunOptions,
} from "./trainer";
export { forgeTokenizerFromBpe, forgeTokenizerFromModel, loadTokenizerModel, type ForgeTokenizer } from "./data/tokenizer";
export { tokenizeChat, tokenizeDocument, type ChatMessage, type ChatRecord, type Sample, type TextDocument } from "./data/render";
export { splitHeldOut } from "./data/split";
export { assertBatchFits, packSamples, packStream, type PackedRows, type PackOrder, type PackStats } from "./data/pack";
export { encodeAtds, readAtds, writeAtds } from "./data/atds";
export { buildDataset, type BuildDatasetOptions, type BuiltDataset } from "./data/build";
export {
  isRecordFormat,
  MIN_PASSAGE_CHARS,
  PASSAGE_CHARS,
  parseRecordFile,
  parseTrainingFile,
  passagesOf,
  recordText,
  toChatRecord,
  type ParsedTrainingFile,
  type TrainingRecord,
} from "./data/records";
export { loadCorpusFile } from "./data/corpus";
export { trainBpe, type BpeTokenizer } from "./tokenizer";
export { ProgressPrinter } from "./progress";
export { exportHfMerged, exportHfModel, exportPeftAdapter, type HfDtype } from "./export";
