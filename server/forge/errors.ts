import "server-only";

/** Error codes reported by the native trainer (`{"type":"error","code":...}`). */
export const NATIVE_ERROR_CODES = [
  "BAD_GGUF",
  "UNSUPPORTED_ARCH",
  "DATASET_TOO_SMALL",
  "CONTEXT_TOO_LONG",
  "OUT_OF_MEMORY",
  "BAD_CONFIG",
  "IO",
] as const;

/** Codes raised on the TypeScript side. */
export const HOST_ERROR_CODES = [
  /** the native binary has not been built (run `npm run setup`) */
  "NOT_BUILT",
  /** the process exited or was killed without reporting a structured error */
  "CRASHED",
  /** the process wrote a line that is not a valid progress event */
  "PROTOCOL",
  /** aborted through an AbortSignal before it could start or finish */
  "ABORTED",
] as const;

export type NativeErrorCode = (typeof NATIVE_ERROR_CODES)[number];
export type ForgeErrorCode = NativeErrorCode | (typeof HOST_ERROR_CODES)[number];

export class ForgeError extends Error {
  readonly code: ForgeErrorCode;
  constructor(code: ForgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ForgeError";
    this.code = code;
  }
}

export function isForgeError(err: unknown, code?: ForgeErrorCode): err is ForgeError {
  return err instanceof ForgeError && (code === undefined || err.code === code);
}

/** "4,100" */
export const fmtInt = (n: number) => n.toLocaleString("en-US");
