// The training studio: datasets (upload, provenance, cleaning, preview), the planner (calibrated
// estimates and a recommendation), the run queue and its runner over forge, versions and
// activation, and side-by-side comparison. Inputs and outputs: ./types.ts.
export { createDataset, deleteDataset, getDataset, listDatasets, maxUploadBytes, MAX_UPLOAD_FILES, type UploadFile, type UploadProblem } from "./datasets";
export { previewDataset } from "./preview";
export { planTraining } from "./planner";
export { cancelRun, getRun, listRuns, resumeRun, startRun, watchRun } from "./runs";
export { recoverStudioRuns } from "./runner";
export { activateVersion, DEFAULT_EVAL_PROMPTS, getEvalPrompts, listVersions, setEvalPrompts } from "./versions";
export { compareModels, COMPARE_MAX_TOKENS } from "./compare";
export * from "./types";
export { handleWorker } from "./remote/http";
export { expireLeases, startLeaseSweeper } from "./remote/queue";
export { PII_PLACEHOLDERS, scrubPii } from "./cleaning";
export { loadRecords } from "./datasets";
