import "server-only";
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import { ready } from "../bootstrap";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import { EngineError, type EngineErrorCode } from "../llm/errors";

export type Context = { db: AtelierDb };

export async function createContext(): Promise<Context> {
  return { db: await ready() };
}

const ENGINE_CODES: Record<EngineErrorCode, TRPCError["code"]> = {
  MODEL_NOT_FOUND: "NOT_FOUND",
  MODEL_FILE_MISSING: "PRECONDITION_FAILED",
  MODEL_FILE_INVALID: "BAD_REQUEST",
  MODEL_LOAD_FAILED: "PRECONDITION_FAILED",
  NETWORK_UNREACHABLE: "PRECONDITION_FAILED",
  DOWNLOAD_FAILED: "BAD_GATEWAY",
  BAD_URI: "BAD_REQUEST",
  CONTEXT_OVERFLOW: "BAD_REQUEST",
  ENGINE_BUSY: "SERVICE_UNAVAILABLE",
};

/** Domain errors keep their message and get the matching tRPC code; anything else is a 500. */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) {
    if (err.cause instanceof AppError || err.cause instanceof EngineError) return toTRPCError(err.cause);
    return err;
  }
  if (err instanceof AppError) return new TRPCError({ code: err.code, message: err.message, cause: err });
  if (err instanceof EngineError) return new TRPCError({ code: ENGINE_CODES[err.code], message: err.message, cause: err });
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Internal error.", cause: err });
}

/** Wraps a streaming procedure so errors raised mid-stream map like any other. */
export async function* mapStreamErrors<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    throw toTRPCError(err);
  }
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        stack: undefined,
        zodError: error.cause instanceof ZodError ? error.cause.issues.map((i) => `${i.path.join(".")}: ${i.message}`) : null,
      },
    };
  },
});

const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(errorMapping);
