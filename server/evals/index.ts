import "server-only";

/*
 * Evaluations: eval sets (rows with references, required facts, expected sources, refusals),
 * candidate rows from knowledge collections and rated conversations, runs over a matrix of
 * configurations on the shared heavy-job queue, per-answer metrics, bootstrap intervals and
 * paired tests, a computed verdict, the activation gate and the no-leakage fingerprints the
 * studio uses. The one entry point of the capability: other layers import from here.
 */

export { addRows, createSet, defaultSetOf, deleteRows, deleteSet, getSet, insertRows, listSets, reviewRows, setRows, updateRow, updateSet } from "./sets";
export { exportRows, parseEvalFile } from "./io";
export { exportFile, importFile } from "./import";
export { addFromConversations, buildFromCollection, type BuildResult, type Generator } from "./build";
export { extractCandidates, type Candidate } from "./candidates";
export { cancelRun, createRun, deleteRun, exportResults, getRun, getRunRow, listRuns, runResults, type CreatedRun } from "./runs";
export { evalRunnerFor, recoverEvalRuns, type EvalRunEvent } from "./runner";
export { activationEvidence, activationLineage, evidenceForActivation, checkActivation, recordActivationCheck, type GateEvidence } from "./gate";
export { excludeEvalLeakage, findLeakage, leakageWarning, type Leakage, type TrainingRecord } from "./fingerprints";
export { computeSummary } from "./summary";
export { JUDGE_RUBRIC } from "./judge";
export { METRICS } from "./metric-info";
export * from "./types";
