import "server-only";
import { CSRF_COOKIE, SESSION_COOKIE, serializeCookie } from "./cookies";
import { sessionTtlMs } from "./sessions";

/**
 * Secure cookies when the page that sent the request is https. The Origin header is what the
 * browser saw, so this also holds behind a TLS-terminating proxy; browsers send it on every POST,
 * which is how tRPC mutations (the only places that set cookies) arrive.
 */
export const isSecureOrigin = (origin: string | null | undefined): boolean => !!origin?.startsWith("https://");

/** The httpOnly session cookie and the readable CSRF cookie, both living as long as the session. */
export function setSessionCookies(headers: Headers | null, s: { token: string; csrfToken: string }, secure: boolean): void {
  if (!headers) return;
  const maxAgeS = sessionTtlMs() / 1000;
  headers.append("set-cookie", serializeCookie(SESSION_COOKIE, s.token, { maxAgeS, httpOnly: true, secure }));
  headers.append("set-cookie", serializeCookie(CSRF_COOKIE, s.csrfToken, { maxAgeS, httpOnly: false, secure }));
}

export function clearSessionCookies(headers: Headers | null, secure: boolean): void {
  if (!headers) return;
  headers.append("set-cookie", serializeCookie(SESSION_COOKIE, "", { maxAgeS: 0, httpOnly: true, secure }));
  headers.append("set-cookie", serializeCookie(CSRF_COOKIE, "", { maxAgeS: 0, httpOnly: false, secure }));
}
