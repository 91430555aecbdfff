import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

/*
 * The knowledge console end to end: create a collection, preview and index a document, refuse a
 * bad file, link the collection to the default assistant (directly in SQLite), ask, see the
 * citations under the answer, open one and land on the passage.
 */

const FAILURE_SHOTS = path.join(ROOT, "test-results");

const HANDBOOK = `# Harbour handbook

## Tides

The harbour gate opens two hours before high tide and closes one hour after it. Boats longer than
twelve metres must book a slot with the harbour master by radio on channel 14.

## Fuel

The fuel pontoon sells diesel only, from eight in the morning until six in the evening.
`;

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
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `knowledge-${name}.png`) }).catch(() => {});
  throw e;
}

describe("knowledge in the browser", () => {
  beforeAll(async () => {
    session = await openConsole({ role: "editor", onDialog: (d) => void d.accept() });
    ({ server, page } = session);
  });

  afterAll(async () => {
    await session?.close();
  });

  let collectionId = "";

  it("creates a collection, previews chunks, indexes a document and refuses a bad file", async () => {
    try {
      await page.goto(`${server.url}/knowledge`);
      const form = page.getByTestId("create-collection-form");
      await form.getByLabel("Name").fill("Harbour");
      await form.getByRole("button", { name: "Create" }).click();
      await page.getByRole("link", { name: "Harbour" }).click();
      await page.waitForURL(/\/knowledge\/[^/]+$/);
      collectionId = new URL(page.url()).pathname.split("/").pop()!;

      await page.getByTestId("upload-input").setInputFiles({ name: "harbour.md", mimeType: "text/markdown", buffer: Buffer.from(HANDBOOK) });
      await page.getByLabel("Chunk size (tokens)").fill("40");
      await page.getByTestId("preview-button").click();
      await page.getByTestId("chunk-preview").waitFor();
      expect(await page.getByTestId("chunk-preview").textContent()).toMatch(/markdown .* chunks/);
      expect(await page.getByTestId("preview-chunk").count()).toBeGreaterThan(1);
      expect(await page.getByTestId("preview-chunk").first().textContent()).toMatch(/~\d+ tokens/);
      expect(withDb((db) => db.prepare("SELECT count(*) FROM knowledge_documents").pluck().get())).toBe(0);

      await page.getByTestId("index-button").click();
      await page.locator('[data-testid="document-row"][data-status="ready"]').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("document-row").textContent()).toContain("Harbour handbook");

      // A file that does not parse: a clear message naming it, and nothing stored.
      await page.getByTestId("upload-input").setInputFiles({ name: "empty.txt", mimeType: "text/plain", buffer: Buffer.from("  \n") });
      await page.getByTestId("index-button").click();
      await expect.poll(() => page.getByRole("alert").first().textContent(), { timeout: 30_000 }).toMatch(/"empty\.txt"/);
      expect(await page.getByTestId("document-row").count()).toBe(1);
      expect(withDb((db) => db.prepare("SELECT count(*) FROM knowledge_documents").pluck().get())).toBe(1);
    } catch (e) {
      await onFailure("upload", e);
    }
  });

  it("answers with citations; clicking one shows the passage", async () => {
    try {
      withDb((db) => {
        const assistant = db.prepare("SELECT id FROM assistants WHERE is_default = 1").pluck().get() as string;
        db.prepare("INSERT INTO assistant_collections (assistant_id, collection_id) VALUES (?, ?)").run(assistant, collectionId);
        db.prepare("UPDATE assistants SET sampling = json_set(sampling, '$.maxTokens', 16) WHERE id = ?").run(assistant);
      });
      await page.goto(`${server.url}/chat`);
      const input = page.getByTestId("chat-input");
      await expect.poll(() => input.isEnabled(), { timeout: 60_000 }).toBe(true);
      await input.fill("When does the harbour gate open?");
      await input.press("Enter");
      await page.waitForURL(/\/chat\/[^/]+$/, { timeout: 30_000 });
      await page.waitForSelector('[data-testid="message-assistant"][data-status="complete"]', { timeout: 150_000 });

      // The tiny model rarely writes [n]: what it was given but did not cite is listed apart (collapsed).
      const list = page.getByTestId("citations");
      await list.waitFor({ timeout: 30_000 });
      const used = Number(await list.getAttribute("data-used"));
      if (used === 0) await page.getByTestId("citations-uncited").locator("summary").click();
      const citations = page.getByTestId(used > 0 ? "citation" : "citation-uncited");
      await expect.poll(() => citations.count(), { timeout: 30_000 }).toBeGreaterThan(0);
      expect(await citations.first().textContent()).toMatch(/\[1\] Harbour handbook.*harbour gate opens two hours/);
      await citations.first().click();
      const drawer = page.getByTestId("citation-drawer");
      await drawer.getByTestId("focused-passage").waitFor({ timeout: 30_000 });
      expect(await drawer.getByTestId("focused-passage").textContent()).toContain("harbour gate opens two hours");

      // The same passage from the document page (the link under the drawer's title).
      await drawer.getByRole("link", { name: "Open document" }).click();
      await page.waitForURL(/\/knowledge\/doc\/[^/#]+#chunk-\d+$/);
      await page.getByTestId("focused-passage").waitFor({ timeout: 30_000 });
      expect(await page.getByTestId("focused-passage").textContent()).toContain("harbour gate opens two hours");
      expect(await page.getByTestId("document-title").textContent()).toBe("Harbour handbook");
    } catch (e) {
      await onFailure("citations", e);
    }
  });

  it("deletes the document: its chunks leave the index", async () => {
    try {
      await page.goto(`${server.url}/knowledge/${collectionId}`);
      await page.getByRole("button", { name: "Delete Harbour handbook" }).click();
      await expect.poll(() => page.getByTestId("document-row").count(), { timeout: 30_000 }).toBe(0);
      expect(withDb((db) => db.prepare("SELECT count(*) FROM knowledge_chunks").pluck().get())).toBe(0);
    } catch (e) {
      await onFailure("delete", e);
    }
  });
});
