import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRamblerModel } from "./rambler";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";
import { watchTextLengths } from "./watch";

const SCREENSHOT = path.join(ROOT, "docs/screenshot.png");

let server: RunningServer;
let session: ConsoleSession | undefined;
let page: Page;

const lastAssistant = '[data-testid="message-assistant"]:last-of-type';
const FAILURE_SHOTS = path.join(ROOT, "test-results");

/**
 * For the streaming and stop checks the assistant answers with the rambler (a model slow enough to
 * watch; the starter under the native engine finishes before a paint) and near-uniform sampling, so
 * end-of-text is rare and the stream lasts long enough to watch and to press Stop. The server reads
 * the assistant's model and sampling on every request.
 */
function makeAssistantRamble(dataDir: string, maxTokens: number, modelId: string) {
  const db = new Database(path.join(dataDir, "atelier.db"));
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare(
      "UPDATE assistants SET model_id = ?, sampling = json_set(sampling, '$.maxTokens', ?, '$.temperature', 2, '$.topP', 1, '$.topK', 0)",
    ).run(modelId, maxTokens);
  } finally {
    db.close();
  }
}

async function onFailure(name: string, e: unknown): Promise<never> {
  console.error(server.log());
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `${name}.png`) }).catch(() => {});
  throw e;
}

/** Records every distinct length of the streaming assistant message's text, from inside the page. */
const watchAssistantText = (p: Page) =>
  watchTextLengths(p, '[data-testid="message-assistant"][data-status="streaming"] [data-testid="message-content"]');

let userMessagesSent = 0;
let ramblerId = "";

async function send(p: Page, text: string) {
  userMessagesSent++;
  const input = p.getByTestId("chat-input");
  await expect.poll(() => input.isEnabled(), { timeout: 60_000 }).toBe(true);
  await input.fill(text);
  await input.press("Enter");
}

describe("chat in the browser", () => {
  beforeAll(async () => {
    session = await openConsole();
    ({ server, page } = session);
    ramblerId = await addRamblerModel(session);
  });

  afterAll(async () => {
    await session?.close();
  });

  it("starts a chat from the assistant's greeting and shows the answer with its stats", async () => {
    try {
      await page.goto(`${server.url}/`);
      await page.waitForURL(/\/chat$/);
      await expect.poll(() => page.getByTestId("backend-status").textContent(), { timeout: 30_000 }).toMatch(/CPU|CUDA|VULKAN|METAL/);
      await expect.poll(() => page.getByTestId("assistant-greeting").textContent()).toBeTruthy();

      // A starter question creates the conversation and sends at once.
      const starter = page.getByTestId("starter-question").first();
      await starter.waitFor({ timeout: 30_000 });
      const question = (await starter.textContent()) ?? "";
      await starter.click();
      userMessagesSent++;
      await page.waitForURL(/\/chat\/[^/]+$/, { timeout: 30_000 });
      await page.waitForSelector(`${lastAssistant}[data-status="complete"]`, { timeout: 150_000 });

      await expect.poll(() => page.getByTestId("message-user").count()).toBe(1);
      expect(await page.getByTestId("message-user").textContent()).toContain(question);
      await expect.poll(() => page.getByTestId("model-chip").first().textContent()).toBeTruthy();
      await expect.poll(() => page.getByTestId("message-stats").first().textContent()).toMatch(/tok\/s .* tokens?$/);
      await expect.poll(() => page.getByTestId("conversation-item").first().textContent()).toContain(question.slice(0, 20));
      expect(await page.getByTestId("regenerate-button").count()).toBe(1);

      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    } catch (e) {
      await onFailure("start", e);
    }
  });

  it("streams the answer into the page in increments", async () => {
    try {
      // A long sampled answer, so the stream lasts long enough to watch on any machine.
      makeAssistantRamble(server.dataDir, 300, ramblerId);
      // Even rambling, the tiny model sometimes ends after a handful of tokens, which can land in a
      // single paint; ask again (bounded) until an answer long enough to watch has streamed in.
      let seen: number[] = [];
      for (let attempt = 1; attempt <= 4 && new Set(seen).size < 3; attempt++) {
        const lengths = await watchAssistantText(page);
        const before = await page.getByTestId("message-assistant").count();
        await send(page, "Tell me everything about Atelier, in detail.");
        await expect.poll(() => page.getByTestId("message-assistant").count(), { timeout: 60_000 }).toBe(before + 1);
        await page.waitForSelector(`${lastAssistant}:not([data-status="streaming"])`, { timeout: 150_000 });
        expect(await page.locator(lastAssistant).getAttribute("data-status")).toBe("complete");
        seen = await lengths();
        console.info(`attempt ${attempt}: assistant text lengths while streaming: ${seen.join(", ")}`);
      }
      expect(new Set(seen).size, `lengths seen: ${seen.join(",")}`).toBeGreaterThanOrEqual(3);
      expect(seen.every((n, i) => i === 0 || n > (seen[i - 1] ?? 0) * 0.8)).toBe(true); // grows (markdown may reflow)
      await expect.poll(() => page.getByTestId("regenerate-button").count()).toBe(1);
    } catch (e) {
      await onFailure("stream", e);
    }
  });

  it("stops a generation, keeps the partial text, and the history survives a reload", async () => {
    try {
      const conversationUrl = page.url();
      makeAssistantRamble(server.dataDir, 400, ramblerId);
      const stop = page.getByTestId("stop-button");
      // A tiny model can finish before the click lands; then try again (bounded).
      let attempts = 0;
      let status: string | null = null;
      while (attempts < 3 && status !== "interrupted") {
        attempts++;
        await send(page, "Write a very long, detailed essay about the history of the sea. Do not stop early.");
        await stop.waitFor({ state: "visible", timeout: 60_000 });
        // Let a few tokens arrive, then stop.
        await page.waitForFunction(
          () => {
            const el = document.querySelector('[data-testid="message-assistant"][data-status="streaming"] [data-testid="message-content"]');
            return (el?.textContent?.length ?? 0) > 12 || !document.querySelector('[data-testid="stop-button"]');
          },
          undefined,
          { timeout: 120_000 },
        );
        await stop.click({ timeout: 2000 }).catch(() => {});
        await page.waitForSelector(`${lastAssistant}:not([data-status="streaming"])`, { timeout: 30_000 });
        await expect.poll(() => page.getByTestId("chat-input").isEnabled(), { timeout: 30_000 }).toBe(true);
        // The view re-reads the conversation shortly after a stop; that is the server's verdict
        // ("complete" when the answer had already finished before the click arrived).
        await page.waitForTimeout(1500);
        status = await page.locator(lastAssistant).getAttribute("data-status");
      }
      console.info(`stopped mid-stream after ${attempts} attempt(s)`);
      expect(status).toBe("interrupted");
      const partial = (await page.locator(`${lastAssistant} [data-testid="message-content"]`).textContent()) ?? "";
      expect(partial.length).toBeGreaterThan(0);
      await expect.poll(() => page.locator(`${lastAssistant} [data-testid="message-status"]`).textContent()).toMatch(/interrupted/i);

      // Let the server persist the interruption, then reload.
      await page.waitForTimeout(1000);
      await page.reload();
      expect(page.url()).toBe(conversationUrl);
      await page.waitForSelector('[data-testid="message-user"]', { timeout: 30_000 });
      await expect.poll(() => page.getByTestId("message-user").count()).toBe(userMessagesSent);
      await expect.poll(() => page.getByTestId("message-assistant").count()).toBe(userMessagesSent);
      expect(await page.locator('[data-testid="message-assistant"]').first().getAttribute("data-status")).toBe("complete");
      expect(await page.locator(lastAssistant).getAttribute("data-status")).toBe("interrupted");
      const restored = (await page.locator(`${lastAssistant} [data-testid="message-content"]`).textContent()) ?? "";
      expect(restored.length).toBeGreaterThan(0);
      await expect.poll(() => page.getByTestId("conversation-item").count()).toBe(1);
    } catch (e) {
      await onFailure("stop", e);
    }
  });
});
