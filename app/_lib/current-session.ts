import "server-only";
import { cookies } from "next/headers";
import { SESSION_COOKIE, sessionFromToken, userCount, type Session } from "@/server/auth";
import { ready } from "@/server/bootstrap";

/**
 * For server components (console layout, /login, /setup): the session behind the request's cookie,
 * whether a cookie was sent at all (to tell "expired" from "never signed in"), and whether
 * Atelier still needs its first admin. A server component is a process entry point, so it may
 * bootstrap; server/auth itself never does.
 */
export async function currentSession(): Promise<{ session: Session | null; hadCookie: boolean; needsSetup: boolean }> {
  const db = await ready();
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  return { session: sessionFromToken(db, token), hadCookie: !!token, needsSetup: userCount(db) === 0 };
}
