/**
 * Part of `npm run setup`: makes sure models/starter/atelier-starter.gguf exists and is intact.
 *  - present: verifies its sha256 against atelier-starter.json and exits (fast);
 *  - missing: runs the starter recipe (a few minutes on CPU) with a progress bar.
 * Exit code 1 when the file is corrupt (e.g. a Git LFS pointer) or cannot be built.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { forgeBinaryAvailable } from "../binary";
import { ForgeError } from "../errors";
import { RECIPE_VERSION, STARTER_PATHS, loadStarterCorpus, sha256File, type StarterMeta } from "./recipe";

export type EnsureResult =
  | { status: "ok"; file: string; meta: StarterMeta | null; warnings: string[] }
  | { status: "built"; file: string; meta: StarterMeta; warnings: string[] };

export class StarterIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StarterIntegrityError";
  }
}

export function checkStarter(file = STARTER_PATHS.gguf(), metaFile = STARTER_PATHS.meta()): { meta: StarterMeta | null; warnings: string[] } {
  const warnings: string[] = [];
  const rel = path.relative(process.cwd(), file) || file;
  const head = readFileSync(file).subarray(0, 64).toString("latin1");
  if (head.startsWith("version https://git-lfs")) {
    throw new StarterIntegrityError(`${rel} is a Git LFS pointer, not the model: run \`git lfs pull\`, or delete it and run \`npm run starter\``);
  }
  if (!head.startsWith("GGUF")) throw new StarterIntegrityError(`${rel} is not a GGUF file: delete it and run \`npm run starter\``);
  if (!existsSync(metaFile)) {
    warnings.push(`${path.basename(metaFile)} is missing, so ${path.basename(file)} cannot be verified`);
    return { meta: null, warnings };
  }
  const meta = JSON.parse(readFileSync(metaFile, "utf8")) as StarterMeta;
  if (meta.gguf.bytes !== statSync(file).size || sha256File(file) !== meta.gguf.sha256) {
    throw new StarterIntegrityError(
      `${rel} does not match the sha256 recorded in ${path.basename(metaFile)} (corrupt or replaced): ` +
        `restore it from the repository, or delete it and run \`npm run starter\``,
    );
  }
  try {
    const corpus = loadStarterCorpus();
    if (corpus.hash !== meta.corpusHash || meta.recipeVersion !== RECIPE_VERSION)
      warnings.push("the starter corpus or recipe changed since the model was built; run `npm run starter` to rebuild it");
  } catch {
    /* corpus not shipped: nothing to compare */
  }
  return { meta, warnings };
}

export async function ensureStarter(opts: { log?: (l: string) => void } = {}): Promise<EnsureResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const file = STARTER_PATHS.gguf();
  if (existsSync(file)) {
    const { meta, warnings } = checkStarter(file);
    return { status: "ok", file, meta, warnings };
  }
  if (!forgeBinaryAvailable()) {
    throw new ForgeError(
      "NOT_BUILT",
      `${path.relative(process.cwd(), file)} is missing and the native trainer needed to build it is not built; run \`node server/forge/native/build.mjs\` first`,
    );
  }
  log("starter: models/starter/atelier-starter.gguf is missing; training it now (a few minutes on CPU)…");
  const { craftStarterCli } = await import("./craft");
  const meta = await craftStarterCli([], "starter");
  return { status: "built", file, meta, warnings: [] };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const t0 = Date.now();
  ensureStarter().then(
    (r) => {
      for (const w of r.warnings) console.warn(`starter: warning: ${w}`);
      if (r.status === "ok") console.log(`starter: ${path.basename(r.file)} ok (${r.meta ? "sha256 verified" : "not verified"}, ${Date.now() - t0} ms)`);
    },
    (err: unknown) => {
      const msg = err instanceof ForgeError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
      console.error(`starter: ${msg}`);
      process.exit(1);
    },
  );
}
