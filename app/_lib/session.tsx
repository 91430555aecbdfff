"use client";

import { createContext, useContext, type ReactNode } from "react";

export type Role = "viewer" | "editor" | "admin";
export type SessionUser = { id: string; email: string; name: string; role: Role };

/** Same order as server/db/auth-tables.ts ROLES: each role may do what the ones before it may. */
const ORDER: Role[] = ["viewer", "editor", "admin"];

const SessionContext = createContext<SessionUser | null>(null);

/** Set once by the console layout from the server-checked session cookie. */
export function SessionProvider({ user, children }: { user: SessionUser; children: ReactNode }) {
  return <SessionContext.Provider value={user}>{children}</SessionContext.Provider>;
}

/**
 * The signed-in user, and `can(role)` to hide controls the user may not use. Only cosmetic:
 * the server checks every call. Outside the console (no provider) there is no user and can() is false.
 */
export function useSession(): { user: SessionUser | null; can: (required: Role) => boolean } {
  const user = useContext(SessionContext);
  return { user, can: (required) => !!user && ORDER.indexOf(user.role) >= ORDER.indexOf(required) };
}
