// The auth capability: users and roles, password hashing, sign-in with throttling, sessions and
// their cookies, CSRF, and the audit log.
export { auditTrail, diffFields, recordAudit } from "./audit";
export { CSRF_COOKIE, CSRF_HEADER, readCookie, serializeCookie, SESSION_COOKIE } from "./cookies";
export { checkCredentials, LOGIN_FLOOR_MS, WRONG_CREDENTIALS, type LoginResult } from "./login";
export { addUser, listUsers, resetUserPassword, setUserDisabled, setUserRole, unlockUser, type UserView } from "./manage";
export { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, verifyPassword } from "./password";
export { hasRole, type Access } from "./roles";
export { clearSessionCookies, isSecureOrigin, setSessionCookies } from "./session-cookies";
export { createSession, deleteSession, deleteUserSessions, sessionFromToken, sessionTtlMs, signedIn, type Session, type SessionUser } from "./sessions";
export { resetLoginThrottlesForTests, signInGuard } from "./throttle";
export { checkPasswordLength, createUser, ensureEnvAdmin, setupFirstAdmin, userCount, type NewUser } from "./users";
export { ROLES, type Role, type UserRow } from "../db/auth-tables";
