import "server-only";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Verified visitors: the host site's backend signs `userId.expiry` (expiry in Unix seconds) with
 * the assistant's identity secret, HMAC-SHA256, base64url, and hands the widget
 * `userId.expiry.signature`. The user id may itself contain dots; expiry and signature are the
 * last two segments.
 */
export const newIdentitySecret = () => `whsec_${randomBytes(32).toString("base64url")}`;

export type IdentityResult = { ok: true; userId: string } | { ok: false; error: string };

export function verifyIdentity(secret: string, token: string, nowMs = Date.now()): IdentityResult {
  const sigAt = token.lastIndexOf(".");
  const expAt = sigAt > 0 ? token.lastIndexOf(".", sigAt - 1) : -1;
  if (token.length > 1024 || expAt <= 0) return { ok: false, error: "The identity token is malformed (expected userId.expiry.signature)." };
  const userId = token.slice(0, expAt);
  const expiry = token.slice(expAt + 1, sigAt);
  const given = Buffer.from(token.slice(sigAt + 1), "base64url");
  const expected = createHmac("sha256", secret).update(`${userId}.${expiry}`).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, error: "The identity token's signature is invalid (signed with another secret, or altered)." };
  }
  if (!/^\d{1,12}$/.test(expiry)) return { ok: false, error: "The identity token's expiry is not a Unix time in seconds." };
  if (Number(expiry) * 1000 <= nowMs) return { ok: false, error: "The identity token has expired; ask the site to sign a fresh one." };
  if (userId.length === 0 || userId.length > 200) return { ok: false, error: "The identity token's user id is empty or too long." };
  return { ok: true, userId };
}
