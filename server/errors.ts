import "server-only";

export type AppErrorCode = "BAD_REQUEST" | "NOT_FOUND" | "CONFLICT" | "PAYLOAD_TOO_LARGE" | "PRECONDITION_FAILED" | "INTERNAL_SERVER_ERROR";

/** A domain error whose code maps 1:1 onto a tRPC error code (and so an HTTP status). */
export class AppError extends Error {
  readonly code: AppErrorCode;
  constructor(code: AppErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AppError";
    this.code = code;
  }
}

export const notFound = (what: string, id: string) => new AppError("NOT_FOUND", `${what} ${id} does not exist.`);
