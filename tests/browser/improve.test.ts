import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

/*
 * The improvement loop in the browser: a thumbs-down with a comment on a console answer, the
 * answer corrected inline in the review inbox, an experiment started between two versions with
 * both arms on the experiment panel, and the second one promoted.
 */

const FAILURE_SHOTS = path.join(ROOT, "test-results");

let server: RunningServer;
let session: ConsoleSession | undefined;
let page: Page;

function withDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(path.join(server.dataDir, "atelier.db"));
  try {
    db.pragma("busy_timeout = 5000");
    return fn(db);
  } finally {
    db.close();
  }
}

async function onFailure(name: string, e: unknown): Promise<never> {
  console.error(server.log());
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `improve-${name}.png`), fullPage: true }).catch(() => {});
  throw e;
}

describe("improve in the browser", () => {
  beforeAll(async () => {
    session = await openConsole({ role: "editor" });
    ({ server, page } = session);
  });

  afterAll(async () => {
    await session?.close();
  });

  let assistantId = "";

  it("rates an answer, then corrects it in the review inbox", async () => {
    try {
      await page.goto(`${server.url}/chat`);
      const input = page.getByTestId("chat-input");
      await expect.poll(() => input.isEnabled(), { timeout: 60_000 }).toBe(true);
      await input.fill("How do I embed the chat on my site?");
      await input.press("Enter");
      await page.locator('[data-testid="message-assistant"][data-status="complete"]').waitFor({ timeout: 60_000 });
      await page.getByTestId("thumbs-down").click();
      await page.getByTestId("feedback-comment").fill("It did not give the steps");
      await page.getByTestId("feedback-save").click();
      await expect
        .poll(() => withDb((db) => db.prepare("SELECT feedback, feedback_comment AS comment FROM messages WHERE role = 'assistant'").get()))
        .toEqual({ feedback: -1, comment: "It did not give the steps" });

      assistantId = withDb((db) => db.prepare("SELECT id FROM assistants WHERE is_default = 1").pluck().get() as string);
      await page.goto(`${server.url}/improve`);
      await page.getByTestId("improve-list").getByRole("link").first().click();
      await page.waitForURL(/\/improve\/[^/]+$/);
      const item = page.getByTestId("inbox-item").first();
      await item.waitFor();
      expect(await item.textContent()).toContain("How do I embed the chat on my site?");
      expect(await item.textContent()).toContain("It did not give the steps");
      await item.getByTestId("correct").click();
      await item.getByTestId("correction").fill("Open Deploy, copy the embed snippet and paste it before </body>.");
      await item.getByTestId("save-correction").click();
      await expect.poll(() => page.getByTestId("inbox-item").count()).toBe(0); // decided: it leaves "To review"
      const review = withDb((db) => db.prepare("SELECT action, correction, reviewer_id AS reviewer FROM review_items").get()) as { action: string; correction: string; reviewer: string | null };
      expect(review).toMatchObject({ action: "corrected", correction: "Open Deploy, copy the embed snippet and paste it before </body>." });
      expect(review.reviewer).toBeTruthy();

      await page.getByTestId("create-version").click();
      await expect.poll(() => page.getByTestId("dataset-version").first().textContent()).toContain("Version 1");
      expect(await page.getByTestId("dataset-version").first().textContent()).toContain("1 records");
    } catch (e) {
      await onFailure("review", e);
    }
  });

  it("starts an experiment, shows both arms, and promotes one", async () => {
    try {
      // A second version of the same model (same file, same tokenizer), as a trained copy would be.
      const second = withDb((db) => {
        const starter = db.prepare("SELECT m.* FROM models m JOIN assistants a ON a.model_id = m.id WHERE a.id = ?").get(assistantId) as Record<string, unknown>;
        db.prepare("INSERT INTO models (id, name, kind, source, file_path, status, architecture, parameters, context_length) VALUES ('second-version', 'Starter v2', 'base', ?, ?, 'ready', ?, ?, ?)").run(
          starter.source,
          starter.file_path,
          starter.architecture,
          starter.parameters,
          starter.context_length,
        );
        return { starterId: starter.id as string, starterName: starter.name as string };
      });
      await page.reload();
      const form = page.getByTestId("new-experiment");
      await form.getByLabel("Arm A version").selectOption(second.starterId);
      await form.getByLabel("Arm B version").selectOption("second-version");
      await form.getByTestId("start-experiment").click();
      const arms = page.getByTestId("experiment-arm");
      await expect.poll(() => arms.count()).toBe(2);
      expect(await arms.nth(0).textContent()).toContain(second.starterName);
      expect(await arms.nth(1).textContent()).toContain("Starter v2");
      expect(await page.getByTestId("experiment-status").textContent()).toBe("running");
      expect(await page.getByTestId("experiment-reading").textContent()).toBe("No ratings yet: nothing to compare.");

      await arms.nth(1).getByTestId("promote-arm").click();
      await expect.poll(() => page.getByTestId("experiment-status").textContent()).toBe("promoted");
      expect(withDb((db) => db.prepare("SELECT model_id FROM assistants WHERE id = ?").pluck().get(assistantId))).toBe("second-version");
      await page.getByTestId("rollback-experiment").waitFor();
    } catch (e) {
      await onFailure("experiment", e);
    }
  });
});
