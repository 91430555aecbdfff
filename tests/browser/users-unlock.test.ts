import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

/*
 * An admin lifts a sign-in lock in Users. The account is locked the way an attacker would lock it:
 * wrong passwords from ten addresses (the server trusts loopback as a proxy here, so each request
 * names its client in X-Forwarded-For).
 */

const FAILURE_SHOTS = path.join(ROOT, "test-results");
const VICTIM = { email: "victim@example.test", password: "the victim's own password" };

let session: ConsoleSession;
let server: RunningServer;
let page: Page;

const login = (password: string, client: string) =>
  fetch(`${server.url}/api/trpc/auth.login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": client },
    body: JSON.stringify({ email: VICTIM.email, password }),
  }).then(async (r) => (await r.arrayBuffer(), r.status));

describe("unlocking an account in Users", () => {
  beforeAll(async () => {
    session = await openConsole({ role: "admin", env: { ATELIER_TRUSTED_PROXIES: "127.0.0.1" } });
    ({ server, page } = session);
  });

  afterAll(async () => {
    await session?.close();
  });

  it("shows the lock and the Unlock button; after Unlock the owner signs in from a new address", async () => {
    try {
      await page.goto(`${server.url}/users`);
      const form = page.getByTestId("create-user-form");
      await form.locator('input[type="email"]').fill(VICTIM.email);
      await form.locator('input[type="password"]').fill(VICTIM.password);
      await form.locator('button[type="submit"]').click();
      const row = page.locator(`[data-testid="user-row"][data-email="${VICTIM.email}"]`);
      await row.waitFor();

      const wrong = await Promise.all(Array.from({ length: 10 }, (_, i) => login("not the password", `198.51.100.${i + 1}`)));
      expect(wrong).toEqual(Array(10).fill(401));
      expect(await login(VICTIM.password, "198.51.100.200")).toBe(429);

      await page.reload();
      await expect.poll(() => row.getByTestId("user-locked").isVisible()).toBe(true);
      await row.getByTestId("unlock-user").click();
      await expect.poll(() => row.getByTestId("user-locked").count()).toBe(0);
      expect(await login(VICTIM.password, "198.51.100.201")).toBe(200);
    } catch (e) {
      console.error(server.log());
      fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(FAILURE_SHOTS, "users-unlock.png") }).catch(() => {});
      throw e;
    }
  });
});
