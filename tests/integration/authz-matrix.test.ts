import type { AnyProcedure } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@/server/api/root";
import type { Access } from "@/server/auth/roles";
import { ROLES, type Role } from "@/server/db/auth-tables";
import { freshApp, signedInSession } from "../helpers/app";
import { http } from "./auth-http";

/**
 * Generated from the router as it is at run time: every procedure must declare who may call it,
 * and every non-public one must refuse anonymous callers, lower roles and CSRF-less writes before
 * its resolver runs. A procedure added later is covered without touching this file.
 */

/** Making a procedure public is a conscious change: add it here. */
const PUBLIC_PROCEDURES = ["auth.login", "auth.logout", "auth.session", "auth.setup"];

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>)
  .map(([path, proc]) => ({ path, type: proc._def.type, access: (proc._def.meta as { access?: Access } | undefined)?.access }))
  .sort((a, b) => a.path.localeCompare(b.path));
const guarded = procedures.filter((p) => p.access !== "public");
const below = (required: Access) => ROLES.slice(0, ROLES.indexOf(required as Role));

let app: Awaited<ReturnType<typeof freshApp>>;
const tokens = new Map<Role, { cookie: string; csrf: string }>();

beforeAll(async () => {
  app = await freshApp();
  for (const role of ROLES) {
    const s = await signedInSession(app.db, role);
    tokens.set(role, { cookie: `atelier_session=${s.token}`, csrf: s.csrfToken });
  }
});

/** Calls a procedure by path on a caller; the input is irrelevant since access is checked first. */
async function callAt(role: Role | null, path: string) {
  const caller = await app.callerAs(role);
  const fn = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (input: unknown) => Promise<unknown>;
  const out = await fn(undefined);
  if (out && typeof out === "object" && Symbol.asyncIterator in out) for await (const _ of out as AsyncIterable<unknown>) break;
  return out;
}

describe("authorization matrix", () => {
  it("finds procedures in the router", () => {
    expect(procedures.length).toBeGreaterThan(10);
  });

  it("every procedure declares its access level", () => {
    const undeclared = procedures.filter((p) => !["public", ...ROLES].includes(p.access as string)).map((p) => p.path);
    expect(undeclared).toEqual([]);
  });

  it("the public procedures are exactly the allowlist", () => {
    expect(procedures.filter((p) => p.access === "public").map((p) => p.path)).toEqual([...PUBLIC_PROCEDURES].sort());
  });

  describe.each(guarded)("$path ($type, $access)", ({ path, type, access }) => {
    it("refuses anonymous callers with UNAUTHORIZED", async () => {
      await expect(callAt(null, path)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      const res = await http(path, { method: type === "query" ? "GET" : "POST" });
      expect(res.status).toBe(401);
    });

    it.each(below(access!).map((role) => ({ role })))("refuses $role with FORBIDDEN", async ({ role }) => {
      await expect(callAt(role, path)).rejects.toMatchObject({ code: "FORBIDDEN", message: `This needs the ${access} role; you are ${role}.` });
      const res = await http(path, { method: type === "query" ? "GET" : "POST", ...tokens.get(role)! });
      expect(res.status).toBe(403);
    });
  });

  it.each(guarded.filter((p) => p.type === "mutation"))("$path refuses a write without or with a forged CSRF token with 403", async ({ path, access }) => {
    const { cookie } = tokens.get(access as Role)!;
    for (const csrf of [undefined, "forged"]) {
      const res = await http(path, { cookie, csrf });
      expect(res.status).toBe(403);
      expect(res.json.error?.message).toBe("Missing or invalid CSRF token; reload the page and try again.");
    }
  });
});
