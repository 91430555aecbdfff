// Atelier's layer rules, checked by `npm run lint:layers` (part of `npm test`).
// docs/ARCHITECTURE.md draws the same picture. Changing a rule here is a design decision: say why
// in the commit and in ARCHITECTURE.md.

/*
 * Which folder of server/ may import which. Anything not listed is forbidden, so a new upward
 * import (a capability reaching a layer above it) or a new cycle between folders fails. Layers,
 * top to bottom:
 *   app (UI, route handlers, server components)
 *   api (tRPC)                  — beside it the public edge (server/edge: widget + OpenAI API)
 *   domain capabilities         — loop, studio, evals, chat, nodes, assistants, auth, knowledge, models (in this order):
 *                                 loop (the improvement loop) turns reviewed answers into studio datasets;
 *                                 studio consults evals (the activation gate, no-leakage); evals reads what
 *                                 studio writes into models.meta, never studio itself;
 *                                 nodes (inference nodes: the remote engines chat turns may run on)
 *   jobs                        — the one heavy-job queue training runs and eval runs share
 *   engine and libraries        — llm (inference), forge (training), documents (file formats)
 *   data and config             — db, and the root files env, errors, ids
 * bootstrap.ts composes the capabilities' start-up and belongs to the process entry points.
 * worker/ is the remote training worker's entry script (`npx atelier worker`): forge and HTTP only.
 */
const FOUNDATION = ["config", "db"];
const ALLOWED = {
  config: [],
  db: ["config"],
  documents: ["config"],
  llm: ["config"],
  forge: ["config", "llm", "documents"],
  models: [...FOUNDATION, "llm"],
  knowledge: [...FOUNDATION, "llm", "documents"],
  auth: [...FOUNDATION],
  assistants: [...FOUNDATION, "auth", "knowledge", "models"],
  nodes: [...FOUNDATION, "llm", "models", "forge"],
  chat: [...FOUNDATION, "llm", "assistants", "knowledge", "models", "nodes"],
  jobs: [...FOUNDATION],
  evals: [...FOUNDATION, "llm", "jobs", "auth", "knowledge", "models", "assistants", "chat"],
  studio: [...FOUNDATION, "llm", "forge", "documents", "auth", "models", "jobs", "evals"],
  loop: [...FOUNDATION, "forge", "auth", "assistants", "chat", "models", "evals", "studio"],
  edge: [...FOUNDATION, "assistants", "chat"],
  api: [...FOUNDATION, "llm", "models", "knowledge", "auth", "assistants", "chat", "studio", "evals", "loop", "edge", "nodes", "bootstrap"],
  bootstrap: [...FOUNDATION, "models", "knowledge", "auth", "assistants", "chat", "studio", "evals", "loop", "nodes"],
  worker: ["config", "forge"],
};

/** Capabilities reached from outside only through their entry file (index.ts). */
const FRONT_DOORS = ["forge", "knowledge", "chat", "assistants", "auth", "models", "studio", "evals", "loop", "edge", "nodes"];

const ROOT_CONFIG = "server/(env\\.ts|env-schema\\.mjs|errors\\.ts|ids\\.ts)$";
const where = (layer) =>
  layer === "config" ? `^${ROOT_CONFIG}` : layer === "bootstrap" ? "^server/bootstrap\\.ts$" : `^server/${layer}/`;

// The allowed graph must itself be a DAG, or "no cycle between folders" would be a promise the
// rules cannot keep.
(function assertAcyclic() {
  const state = {};
  const visit = (layer, trail) => {
    if (state[layer] === "done") return;
    if (state[layer] === "open") throw new Error(`.dependency-cruiser.cjs: the allowed layers form a cycle: ${[...trail, layer].join(" -> ")}`);
    state[layer] = "open";
    for (const next of ALLOWED[layer]) visit(next, [...trail, layer]);
    state[layer] = "done";
  };
  for (const layer of Object.keys(ALLOWED)) visit(layer, []);
})();

const layerRules = Object.entries(ALLOWED).map(([layer, allowed]) => {
  const forbidden = Object.keys(ALLOWED).filter((other) => other !== layer && !allowed.includes(other));
  return {
    name: `layer-${layer}`,
    comment: `server/${layer} may import only: ${allowed.join(", ") || "nothing of server/"} (see the table at the top of .dependency-cruiser.cjs).`,
    severity: "error",
    from: { path: where(layer) },
    to: { path: forbidden.map(where) },
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "no-circular",
      comment: "No import cycle between files of app/ and server/.",
      severity: "error",
      from: { path: "^(app|server)/" },
      to: { circular: true },
    },
    {
      name: "server-never-imports-app",
      comment: "server/ is below the UI: nothing in it may import app/.",
      severity: "error",
      from: { path: "^server/" },
      to: { path: "^app/" },
    },
    {
      name: "bootstrap-only-from-entry-points",
      comment: "Only process entry points (route handlers and server components in app/, the tRPC context) start the process.",
      severity: "error",
      from: { path: "^server/", pathNot: "^server/api/trpc\\.ts$" },
      to: { path: "^server/bootstrap\\.ts$" },
    },
    ...FRONT_DOORS.map((capability) => ({
      name: `front-door-${capability}`,
      comment: `From outside server/${capability}, import server/${capability}/index.ts only (its one entry file).`,
      severity: "error",
      from: { path: "^(app|server)/", pathNot: [`^server/${capability}/`, "^instrumentation\\.ts$"] },
      to: { path: `^server/${capability}/`, pathNot: `^server/${capability}/index\\.ts$` },
    })),
    {
      name: "instrumentation-loads-only-the-request-hooks",
      comment: "instrumentation.ts runs before the server graph exists; it may load server/edge/peer.ts and server/edge/request-guard.ts and nothing else of server/.",
      severity: "error",
      from: { path: "^instrumentation\\.ts$" },
      to: { path: "^server/", pathNot: "^server/edge/(peer|request-guard)\\.ts$" },
    },
    {
      name: "libraries-run-outside-next",
      comment: "forge, documents and the worker run under plain node (the forge CLI, `atelier worker`): no server-only, no Next.",
      severity: "error",
      from: { path: "^server/(forge|documents|worker)/" },
      to: { path: "node_modules/(server-only|next)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(server/forge/native/build|\\.next)/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
