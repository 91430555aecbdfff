import { createHash, randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import Database from "better-sqlite3";
import type { BrowserContext } from "playwright-core";
import { hashPassword } from "@/server/auth/password";
import type { Role } from "@/server/db/auth-tables";
import type { RunningServer } from "./server";

export const TEST_PASSWORD = "correct horse battery";

/**
 * Signs a browser context in as a new user with `role`, by writing the user and a session into the
 * server's SQLite file the way a sign-in would, and setting the two cookies. Tests of the sign-in
 * screen itself go through the UI; every other browser test starts from here.
 */
export async function signIn(context: BrowserContext, server: RunningServer, role: Role = "admin") {
  const email = `${role}-${randomBytes(3).toString("hex")}@example.test`;
  const token = randomBytes(32).toString("base64url");
  const csrf = randomBytes(24).toString("base64url");
  const userId = randomUUID();
  // Any API request makes the server open and migrate its database (a 401 is fine).
  await (await fetch(`${server.url}/api/trpc/system.status`)).arrayBuffer();
  const db = new Database(path.join(server.dataDir, "atelier.db"), { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare("INSERT INTO users (id, email, name, password_hash, role) VALUES (?, ?, ?, ?, ?)").run(userId, email, role, await hashPassword(TEST_PASSWORD), role);
    db.prepare("INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES (?, ?, ?, ?)").run(
      createHash("sha256").update(token).digest("base64url"),
      userId,
      csrf,
      Date.now() + 3_600_000,
    );
  } finally {
    db.close();
  }
  const url = server.url;
  await context.addCookies([
    { name: "atelier_session", value: token, url, httpOnly: true, sameSite: "Lax" },
    { name: "atelier_csrf", value: csrf, url, sameSite: "Lax" },
  ]);
  return { email, userId };
}
