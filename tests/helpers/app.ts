import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Role } from "@/server/db/auth-tables";
import type { Session } from "@/server/auth/sessions";
import type { AtelierDb } from "@/server/db/client";
import { starterModelPath } from "./model";

/**
 * A fresh Atelier (temporary data dir, real SQLite file, real starter model) inside this
 * test process. Returns a tRPC caller that goes through the same router as HTTP requests.
 */
export async function freshApp(extraEnv: Record<string, string> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-test-"));
  process.env.ATELIER_DATA_DIR = dataDir;
  process.env.ATELIER_DEFAULT_MODEL = starterModelPath();
  delete process.env.ATELIER_DB_PATH;
  Object.assign(process.env, extraEnv);
  const { resetEnvForTests } = await import("@/server/env");
  const { closeDbForTests } = await import("@/server/db/client");
  const { resetReadyForTests, ready } = await import("@/server/bootstrap");
  resetEnvForTests();
  closeDbForTests();
  resetReadyForTests();
  const db = await ready();
  const { createCaller } = await import("@/server/api/root");
  const { internalContext } = await import("@/server/api/trpc");
  const sessions = new Map<Role, Session & { token: string }>();
  /** A caller signed in with `role` (created on first use), or anonymous with null. */
  const callerAs = async (role: Role | null, signal?: AbortSignal) => {
    if (role === null) return createCaller(internalContext(db, null), { signal });
    let session = sessions.get(role);
    if (!session) {
      session = await signedInSession(db, role);
      sessions.set(role, session);
    }
    return createCaller(internalContext(db, session), { signal });
  };
  const admin = await signedInSession(db, "admin");
  sessions.set("admin", admin);
  /** The usual caller: signed in as an admin. */
  const caller = (signal?: AbortSignal) => createCaller(internalContext(db, admin), { signal });
  return { dataDir, db, caller, callerAs, admin };
}

/** Creates a user with `role` and a live session for it, as a sign-in would. */
export async function signedInSession(db: AtelierDb, role: Role, email = `${role}-${Math.random().toString(36).slice(2, 8)}@example.test`): Promise<Session & { token: string }> {
  const { createUser } = await import("@/server/auth/users");
  const { createSession, sessionFromToken } = await import("@/server/auth/sessions");
  const user = await createUser(db, { email, password: "correct horse battery", role });
  const { token } = createSession(db, user.id);
  return { ...sessionFromToken(db, token)!, token };
}

export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const ev of stream) out.push(ev);
  return out;
}
