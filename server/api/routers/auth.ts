import "server-only";
import { z } from "zod";
import {
  checkCredentials,
  clearSessionCookies,
  createSession,
  deleteSession,
  isSecureOrigin,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  recordAudit,
  sessionFromToken,
  setSessionCookies,
  setupFirstAdmin,
  userCount,
  WRONG_CREDENTIALS,
  type Session,
} from "../../auth";
import type { AtelierDb } from "../../db/client";
import { AtelierError } from "../../errors";
import { createTRPCRouter, publicProcedure, type Context } from "../trpc";

export const newPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `The password needs at least ${PASSWORD_MIN_LENGTH} characters.`)
  .max(PASSWORD_MAX_LENGTH, `The password can have at most ${PASSWORD_MAX_LENGTH} characters.`);
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email("Enter a valid email address.").max(320));
export const nameSchema = z.string().trim().min(1, "Enter a name.").max(100, "The name can have at most 100 characters.");

const loginInput = z.object({
  email: z.string().trim().min(1, "Enter your email.").max(320),
  password: z.string().min(1, "Enter your password.").max(PASSWORD_MAX_LENGTH),
});

const setupInput = z
  .object({ email: emailSchema, name: nameSchema, password: newPasswordSchema, confirm: z.string().max(PASSWORD_MAX_LENGTH) })
  .refine((v) => v.password === v.confirm, { message: "The two passwords differ.", path: ["confirm"] });

/** Starts a session for `userId`, replacing the caller's current one, and sets both cookies. */
function startSession(ctx: Context, db: AtelierDb, userId: string): Session {
  if (ctx.session) deleteSession(db, ctx.session.tokenHash);
  const created = createSession(db, userId);
  setSessionCookies(ctx.resHeaders, created, isSecureOrigin(ctx.origin));
  return sessionFromToken(db, created.token)!;
}

/** Sign-in, sign-out and first-start setup: the only console procedures open to anonymous callers. */
export const authRouter = createTRPCRouter({
  /** Who is signed in, and whether Atelier still needs its first admin. */
  session: publicProcedure.query(({ ctx }) => ({ needsSetup: userCount(ctx.db) === 0, user: ctx.session?.user ?? null })),

  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const result = await checkCredentials(ctx.db, input.email, input.password, ctx.ip);
    if (!result.ok) {
      if (result.reason === "locked") {
        throw new AtelierError("rate_limit:auth", `Too many failed sign-ins; try again in ${result.retryAfterS} s.`, { retryAfterSec: result.retryAfterS });
      }
      if (result.reason === "disabled") throw new AtelierError("forbidden:auth", "This account is disabled; ask an admin.");
      throw new AtelierError("unauthorized:auth", WRONG_CREDENTIALS);
    }
    const session = startSession(ctx, ctx.db, result.user.id);
    recordAudit(ctx.db, session, "auth.login", { type: "user", id: result.user.id });
    return { user: session.user };
  }),

  /** Deletes the session row and clears both cookies; harmless when already signed out. */
  logout: publicProcedure.mutation(({ ctx }) => {
    if (ctx.session) {
      // A cross-site page must not be able to sign the user out either.
      if (!ctx.csrfOk) throw new AtelierError("forbidden:auth", "Missing or invalid CSRF token; reload the page and try again.");
      deleteSession(ctx.db, ctx.session.tokenHash);
    }
    clearSessionCookies(ctx.resHeaders, isSecureOrigin(ctx.origin));
    return { ok: true as const };
  }),

  /** Creates the first admin and signs them in; refused once any user exists. */
  setup: publicProcedure.input(setupInput).mutation(async ({ ctx, input }) => {
    const user = await setupFirstAdmin(ctx.db, { email: input.email, name: input.name, password: input.password });
    const session = startSession(ctx, ctx.db, user.id);
    recordAudit(ctx.db, session, "user.create", { type: "user", id: user.id }, { email: user.email, role: user.role, via: "setup" });
    return { user: session.user };
  }),
});
