import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

const FAILURE_SHOTS = path.join(ROOT, "test-results");
const ADMIN = { email: "owner@example.test", name: "Olive Owner", password: "a long enough secret" };

let server: RunningServer;
let session: ConsoleSession | undefined;
let page: Page;

async function onFailure(name: string, e: unknown): Promise<never> {
  console.error(server.log());
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `auth-${name}.png`) }).catch(() => {});
  throw e;
}

async function signInWith(password: string) {
  await page.getByTestId("login-email").fill(ADMIN.email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
}

describe("first start and sign-in in the browser", () => {
  beforeAll(async () => {
    session = await openConsole({ role: null });
    ({ server, page } = session);
  });

  afterAll(async () => {
    await session?.close();
  });

  it("sends a fresh install to /setup, which creates the admin and lands in chat", async () => {
    try {
      await page.goto(`${server.url}/chat`);
      await page.waitForURL(/\/setup$/);
      // The password hint describes the field (aria-describedby); it is not part of its label.
      const hint = await page.getByTestId("setup-password").evaluate((el) => {
        const input = el as HTMLInputElement;
        const label = [...(input.labels ?? [])].map((l) => l.textContent).join(" ");
        const described = (input.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent).join(" ");
        return { label, described };
      });
      expect(hint).toEqual({ label: "Password", described: expect.stringMatching(/^At least \d+ characters\.$/) });
      await page.getByTestId("setup-email").fill(ADMIN.email);
      await page.getByTestId("setup-name").fill(ADMIN.name);
      await page.getByTestId("setup-password").fill(ADMIN.password);
      await page.getByTestId("setup-confirm").fill("not the same password");
      await page.getByTestId("setup-submit").click();
      await expect.poll(() => page.getByTestId("setup-error").textContent()).toBe("The two passwords differ.");
      await page.getByTestId("setup-confirm").fill(ADMIN.password);
      await page.getByTestId("setup-submit").click();
      await page.waitForURL(/\/chat$/, { timeout: 30_000 });
      await expect.poll(() => page.getByTestId("user-name").textContent(), { timeout: 30_000 }).toBe(ADMIN.name);
      expect(await page.getByTestId("user-role").textContent()).toBe("admin");
      // Setup is gone now.
      await page.goto(`${server.url}/setup`);
      await page.waitForURL(/\/chat$/);
    } catch (e) {
      await onFailure("setup", e);
    }
  });

  it("signs out to /login; a wrong password shows the message, the right one signs in", async () => {
    try {
      await page.getByTestId("sign-out").click();
      await page.waitForURL(/\/login$/, { timeout: 30_000 });
      expect(await page.getByTestId("session-expired").count()).toBe(0);
      await page.goto(`${server.url}/chat`);
      await page.waitForURL(/\/login$/);

      await signInWith("a wrong password");
      await expect.poll(() => page.getByTestId("login-error").textContent(), { timeout: 30_000 }).toBe("The email or password is wrong.");
      expect(page.url()).toMatch(/\/login$/);

      await signInWith(ADMIN.password);
      await page.waitForURL(/\/chat$/, { timeout: 30_000 });
      await expect.poll(() => page.getByTestId("user-name").textContent(), { timeout: 30_000 }).toBe(ADMIN.name);
    } catch (e) {
      await onFailure("login", e);
    }
  });

  it("an expired session goes back to /login with a notice, from the client and from the server", async () => {
    try {
      const db = new Database(path.join(server.dataDir, "atelier.db"));
      try {
        db.pragma("busy_timeout = 5000");
        db.prepare("UPDATE sessions SET expires_at = ?").run(Date.now() - 1000);
      } finally {
        db.close();
      }
      // The page already open notices on its next API call (a search, or the status pill's poll,
      // whichever comes first) and goes to /login itself.
      await page.getByTestId("search-conversations").fill("anything", { timeout: 5_000 }).catch(() => {});
      await page.waitForURL(/\/login\?expired=1$/, { timeout: 30_000 });
      await expect.poll(() => page.getByTestId("session-expired").textContent()).toMatch(/session expired/);
      // And the server gate says the same on a full load.
      await page.goto(`${server.url}/models`);
      await page.waitForURL(/\/login\?expired=1$/, { timeout: 30_000 });
    } catch (e) {
      await onFailure("expired", e);
    }
  });
});
