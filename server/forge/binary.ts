import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ForgeError } from "./errors";

const REL_BINARY = path.join("server", "forge", "native", "build", process.platform === "win32" ? "atelier-forge.exe" : "atelier-forge");

/** Candidate repository roots: $ATELIER_ROOT, the cwd and its parents, then this file's location. */
function candidateRoots(): string[] {
  const roots: string[] = [];
  if (process.env.ATELIER_ROOT) roots.push(path.resolve(process.env.ATELIER_ROOT));
  let dir = process.cwd();
  for (let i = 0; i < 4; i++) {
    roots.push(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  try {
    // server/forge/binary.ts → repo root (meaningless once bundled; the cwd covers that case)
    roots.push(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", ".."));
  } catch {
    /* not a file: URL */
  }
  return [...new Set(roots)];
}

/** The repository root (directory holding server/forge). */
export function repoRoot(): string {
  for (const r of candidateRoots()) if (existsSync(path.join(r, "server", "forge"))) return r;
  return process.cwd();
}

/** Absolute path of the native trainer; $ATELIER_FORGE_BIN overrides. Throws NOT_BUILT when absent. */
export function forgeBinaryPath(): string {
  const override = process.env.ATELIER_FORGE_BIN;
  if (override) {
    if (!existsSync(override)) throw new ForgeError("NOT_BUILT", `ATELIER_FORGE_BIN points to ${override}, which does not exist`);
    return override;
  }
  for (const r of candidateRoots()) {
    const p = path.join(r, REL_BINARY);
    if (existsSync(p)) return p;
  }
  throw new ForgeError(
    "NOT_BUILT",
    `the native trainer is not built (expected ${path.join(repoRoot(), REL_BINARY)}); run \`npm run setup\` (or \`node server/forge/native/build.mjs\`)`,
  );
}

export function forgeBinaryAvailable(): boolean {
  try {
    forgeBinaryPath();
    return true;
  } catch {
    return false;
  }
}
