import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRamblerModel } from "./rambler";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";
import { watchTextLengths } from "./watch";

const FAILURE_SHOTS = path.join(ROOT, "test-results");
/** Set to a folder to keep screenshots of the pages (for reviewing the design). */
const SHOTS = process.env.ATELIER_SHOTS;

let server: RunningServer;
let session: ConsoleSession | undefined;
let page: Page;

async function onFailure(name: string, e: unknown): Promise<never> {
  console.error(server.log());
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `${name}.png`), fullPage: true }).catch(() => {});
  throw e;
}

async function shot(name: string) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

function countRows(table: string): number {
  const db = new Database(path.join(server.dataDir, "atelier.db"), { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

let ramblerId = "";

describe("assistants in the browser", () => {
  beforeAll(async () => {
    session = await openConsole({ role: "editor", viewport: { width: 1440, height: 900 } });
    ({ server, page } = session);
    ramblerId = await addRamblerModel(session);
  });

  afterAll(async () => {
    await session?.close();
  });

  it("creates an assistant, tries an unsaved prompt, saves it with history, and chats with it", async () => {
    try {
      await page.goto(`${server.url}/assistants`);
      await page.getByTestId("assistant-card").first().waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("assistant-card").first().textContent()).toContain("Default");
      await shot("assistants-list");

      // Create
      await page.getByTestId("new-assistant").click();
      await page.waitForURL(/\/assistants\/new$/);
      await page.getByTestId("assistant-name").fill("Harbor guide");
      await page.getByTestId("assistant-system-prompt").fill("You are Atelier's guide. Answer questions about Atelier briefly.");
      await page.getByTestId("assistant-greeting-input").fill("Ahoy! Ask me about Atelier.");
      await page.getByTestId("add-starter").click();
      await page.getByTestId("starter-input").first().fill("What is Atelier?");
      await page.getByTestId("add-starter").click();
      await page.getByTestId("starter-input").nth(1).fill("How do I train a model?");
      // The rambler answers: slow enough to watch "Try it" stream (the starter finishes before a paint).
      await page.getByTestId("assistant-model").selectOption(ramblerId);
      await shot("assistant-new");
      await page.getByTestId("save-assistant").click();
      await page.waitForURL(/\/assistants\/[0-9a-f-]{36}$/, { timeout: 30_000 });
      const id = page.url().split("/").at(-1)!;
      await expect.poll(() => page.getByTestId("history-entry").count(), { timeout: 30_000 }).toBe(1);

      // Change the system prompt and sampling without saving; "Try it" uses the unsaved values.
      const newPrompt = "You are a friendly support assistant for Atelier.";
      await page.getByTestId("assistant-system-prompt").fill(newPrompt);
      // Make it ramble (near-uniform sampling) so the stream lasts long enough to watch.
      await page.getByTestId("sampling-temperature").fill("2");
      await page.getByTestId("sampling-topK").fill("0");
      await page.getByTestId("sampling-maxTokens").fill("160");
      await page.getByTestId("try-it-view-prompt").click();
      await expect.poll(() => page.getByTestId("try-it-prompt").textContent(), { timeout: 60_000 }).toContain(newPrompt);

      const lengths = await watchTextLengths(page, '[data-testid="try-it-answer"][data-status="streaming"] [data-testid="try-it-answer-text"]');
      await page.getByTestId("try-it-input").fill("What is Atelier?");
      await page.getByTestId("try-it-send").click();
      await page.waitForSelector('[data-testid="try-it-answer"][data-status="complete"]', { timeout: 150_000 });
      expect((await lengths()).length).toBeGreaterThan(1); // it streamed in, not all at once
      expect((await page.getByTestId("try-it-answer-text").textContent())?.length).toBeGreaterThan(0);
      await shot("assistant-editor");
      // Trying persisted nothing.
      expect(countRows("conversations")).toBe(0);
      expect(countRows("messages")).toBe(0);

      // Save: one more history entry naming what changed.
      await page.getByTestId("save-assistant").click();
      await expect.poll(() => page.getByTestId("save-status").textContent(), { timeout: 30_000 }).toContain("Saved");
      await expect.poll(() => page.getByTestId("history-entry").count(), { timeout: 30_000 }).toBe(2);
      const latest = (await page.getByTestId("history-entry").first().textContent()) ?? "";
      expect(latest).toContain("changed system prompt, sampling");
      expect(latest).toContain("editor");

      // Chat with it: greeting and starter chips in the empty chat.
      await page.getByTestId("editor-chat-link").click();
      await page.waitForURL(new RegExp(`/chat\\?assistant=${id}$`));
      await expect.poll(() => page.getByTestId("assistant-greeting").textContent(), { timeout: 30_000 }).toBe("Ahoy! Ask me about Atelier.");
      await expect.poll(() => page.getByTestId("starter-question").allTextContents()).toEqual(["What is Atelier?", "How do I train a model?"]);
      await shot("chat-with-assistant");
      await page.getByTestId("starter-question").first().click();
      await page.waitForURL(/\/chat\/[^/?]+$/, { timeout: 30_000 });
      await page.waitForSelector('[data-testid="message-assistant"][data-status="complete"]', { timeout: 150_000 });
      expect(await page.getByTestId("greeting-message").textContent()).toBe("Ahoy! Ask me about Atelier.");
    } catch (e) {
      await onFailure("assistants", e);
    }
  });
});
