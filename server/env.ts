import "server-only";
import { parseEnv } from "./env-schema.mjs";

export type Env = ReturnType<typeof parseEnv>;

let cached: Env | undefined;

/** Validated environment; read lazily so tests can set variables before first use. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** For tests that switch data directories inside one process. */
export function resetEnvForTests(): void {
  cached = undefined;
}
