// The parse worker's entry (plain JS: a worker thread starts without a TypeScript loader). It
// registers tsx, then runs tasks exported by the TypeScript modules it is sent, one at a time.
import { parentPort, workerData } from "node:worker_threads";

const { register } = await import(workerData.tsxApi);
register();

const modules = new Map();
const SLICE = 500;
const SLICED = "__sliced__";

/** An error as plain data: DocumentParseError and AtelierError keep what rebuilds them. */
function serialize(err) {
  const e = err ?? {};
  return {
    name: e.name ?? "Error",
    message: String(e.message ?? err),
    fileName: e.fileName,
    reason: e.reason,
    detail: e.detail,
    line: e.line,
    code: typeof e.type === "string" && typeof e.surface === "string" ? `${e.type}:${e.surface}` : undefined,
  };
}

let ackWaiter = null;

parentPort.on("message", async ({ id, module, task, args, ack }) => {
  if (ack) {
    const resolve = ackWaiter;
    ackWaiter = null;
    resolve?.();
    return;
  }
  try {
    let mod = modules.get(module);
    if (!mod) {
      mod = await import(module);
      modules.set(module, mod);
    }
    const result = await mod[task](...args);
    // Long arrays (records, outline entries) go in slices: the main thread rebuilds each slice as
    // its own task, so taking a big result never blocks its event loop for long.
    if (result && typeof result === "object" && !Array.isArray(result)) {
      for (const [key, value] of Object.entries(result)) {
        if (!Array.isArray(value) || value.length <= SLICE) continue;
        for (let i = 0; i < value.length; i += SLICE) {
          // One slice at a time, each after the main thread said it took the last one: queued
          // messages would otherwise all be taken in one go.
          const taken = new Promise((resolve) => (ackWaiter = resolve));
          parentPort.postMessage({ id, part: { key, items: value.slice(i, i + SLICE) } });
          await taken;
        }
        result[key] = SLICED;
      }
    }
    parentPort.postMessage({ id, ok: true, result });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: serialize(err) });
  }
});
parentPort.postMessage({ ready: true });
