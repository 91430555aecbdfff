import { AtelierError, type ErrorCode } from "../errors";

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

/** How each forge code surfaces (HTTP/tRPC status through server/errors.ts): the user's input or setup, or a fault. */
const SURFACES_AS: Record<ForgeErrorCode, ErrorCode> = {
  BAD_GGUF: "internal:forge",
  // the user's base model: forge names the architecture or feature it does not implement
  UNSUPPORTED_ARCH: "bad_request:forge",
  DATASET_TOO_SMALL: "bad_request:forge",
  CONTEXT_TOO_LONG: "bad_request:forge",
  // the pre-flight memory check: the message says by how much and what to change (checkpointing, context, LoRA, quantized base)
  OUT_OF_MEMORY: "bad_request:forge",
  BAD_CONFIG: "bad_request:forge",
  IO: "internal:forge",
  NOT_BUILT: "precondition:forge",
  CRASHED: "internal:forge",
  PROTOCOL: "internal:forge",
  ABORTED: "internal:forge",
};

/** A trainer failure; `code` is the trainer's own (native or host) code, `errorCode` the app-wide one. */
export class ForgeError extends AtelierError {
  readonly code: ForgeErrorCode;
  constructor(code: ForgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(SURFACES_AS[code], message, { cause: options?.cause, reason: code });
    this.name = "ForgeError";
    this.code = code;
  }
}

export function isForgeError(err: unknown, code?: ForgeErrorCode): err is ForgeError {
  return err instanceof ForgeError && (code === undefined || err.code === code);
}

/** "4,100" */
export const fmtInt = (n: number) => n.toLocaleString("en-US");
