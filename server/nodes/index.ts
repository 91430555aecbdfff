// Inference nodes: OpenAI-compatible endpoints (another Atelier in node mode, llama-server, vLLM,
// Ollama, any other) that serve model versions for this Atelier. The registry and health checks,
// the router (least-loaded healthy node, sticky per conversation, retry before the first token,
// circuit breaker) and the engine a chat turn runs on (`engineFor`), model downloads to Atelier
// nodes. Node mode itself (`npx atelier node`) is in ./serve, an entry script.
export { engineFor, isInterruptedAnswer, localEngine, InterruptedAnswer, type EngineRequest, type TurnEngine } from "./engine";
export {
  assignModel,
  engineLimits,
  getNodeRow,
  listNodes,
  localServing,
  NODE_KIND_LABELS,
  normalizeNodeUrl,
  registerNode,
  removeNode,
  setLocalServing,
  unassignModel,
  updateNode,
  type NodeView,
} from "./registry";
export { checkAllNodes, checkNode, startNodeHealth, stopNodeHealth } from "./health";
export { serveArtifact } from "./sync";
export { fileSha256 } from "./hash";
export { NODE_KINDS, type NodeKind, type NodeHealth } from "./schema";
export { activationPlan, carryVersionToNodes, type CarryResult, type NodePlanItem } from "./versions";
