import "server-only";
import { AtelierError, type ErrorCode } from "../errors";

export type EngineErrorCode =
  | "MODEL_NOT_FOUND"
  | "MODEL_FILE_MISSING"
  | "MODEL_FILE_INVALID"
  | "MODEL_LOAD_FAILED"
  | "NETWORK_UNREACHABLE"
  | "DOWNLOAD_FAILED"
  | "BAD_URI"
  | "CONTEXT_OVERFLOW"
  | "ENGINE_BUSY";

/** How each engine code surfaces (its HTTP/tRPC status comes from server/errors.ts). */
const SURFACES_AS: Record<EngineErrorCode, ErrorCode> = {
  MODEL_NOT_FOUND: "not_found:model",
  MODEL_FILE_MISSING: "precondition:model",
  MODEL_FILE_INVALID: "bad_request:model",
  MODEL_LOAD_FAILED: "precondition:engine",
  NETWORK_UNREACHABLE: "precondition:model",
  DOWNLOAD_FAILED: "upstream:model",
  BAD_URI: "bad_request:model",
  CONTEXT_OVERFLOW: "bad_request:engine",
  ENGINE_BUSY: "unavailable:engine",
};

/** A failure of the inference engine; `code` is the engine's own, `errorCode` the app-wide one. */
export class EngineError extends AtelierError {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(SURFACES_AS[code], message, { cause: options?.cause, reason: code });
    this.name = "EngineError";
    this.code = code;
  }
}
