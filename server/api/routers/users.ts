import "server-only";
import { z } from "zod";
import { addUser, listUsers, resetUserPassword, ROLES, setUserDisabled, setUserRole, signedIn, unlockUser } from "../../auth";
import { adminProcedure, createTRPCRouter } from "../trpc";
import { emailSchema, nameSchema, newPasswordSchema } from "./auth";

const id = z.string().min(1).max(100);
const role = z.enum(ROLES, { error: `The role must be one of ${ROLES.join(", ")}.` });

/** Admin only: accounts, roles, disabling and password resets; every change is audited. */
export const usersRouter = createTRPCRouter({
  list: adminProcedure.query(({ ctx }) => listUsers(ctx.db)),
  create: adminProcedure
    .input(z.object({ email: emailSchema, name: nameSchema.optional(), role, password: newPasswordSchema }))
    .mutation(({ ctx, input }) => addUser(ctx.db, signedIn(ctx), input)),
  setRole: adminProcedure.input(z.object({ id, role })).mutation(({ ctx, input }) => setUserRole(ctx.db, signedIn(ctx), input.id, input.role)),
  setDisabled: adminProcedure
    .input(z.object({ id, disabled: z.boolean() }))
    .mutation(({ ctx, input }) => setUserDisabled(ctx.db, signedIn(ctx), input.id, input.disabled)),
  /** Lifts a sign-in lock now (failed guesses spread over many addresses can lock an account for up to 15 min). */
  unlock: adminProcedure.input(z.object({ id })).mutation(({ ctx, input }) => unlockUser(ctx.db, signedIn(ctx), input.id)),
  resetPassword: adminProcedure
    .input(z.object({ id, password: newPasswordSchema }))
    .mutation(({ ctx, input }) => resetUserPassword(ctx.db, signedIn(ctx), input.id, input.password)),
});
