import "server-only";

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

/** A failure of the inference engine with a code the API layer maps to a tRPC/HTTP status. */
export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineError";
    this.code = code;
  }
}
