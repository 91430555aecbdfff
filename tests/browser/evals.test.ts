import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

/*
 * Evaluate in the browser: turn a knowledge collection into an eval set (candidates from the
 * document's structure), review two of them (accept one as it is, edit and accept another), run
 * the matrix (the starter with and without the knowledge base), read the verdict and open one
 * row's drill-down with both answers side by side.
 */

const FAILURE_SHOTS = path.join(ROOT, "test-results");
const FAQ = fs.readFileSync(path.join(ROOT, "tests/evals/fixtures/atelier-faq.md"));

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
  // an answer that failed says why in its stored result (the page shows only a count)
  try {
    console.error(withDb((db) => db.prepare("SELECT config_idx, error FROM eval_results WHERE error IS NOT NULL LIMIT 4").all()));
  } catch {
    /* no results table yet */
  }
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `evals-${name}.png`), fullPage: true }).catch(() => {});
  throw e;
}

describe("evaluate in the browser", () => {
  beforeAll(async () => {
    session = await openConsole({ role: "editor", onDialog: (d) => void d.accept() });
    ({ server, page } = session);
  });

  afterAll(async () => {
    await session?.close();
  });

  let setUrl = "";

  it("builds an eval set from a collection and reviews two generated rows", async () => {
    try {
      // a collection with the FAQ, linked to the default assistant
      await page.goto(`${server.url}/knowledge`);
      const form = page.getByTestId("create-collection-form");
      await form.getByLabel("Name").fill("Atelier FAQ");
      await form.getByRole("button", { name: "Create" }).click();
      await page.getByRole("link", { name: "Atelier FAQ" }).click();
      await page.waitForURL(/\/knowledge\/[^/]+$/);
      const collectionId = new URL(page.url()).pathname.split("/").pop()!;
      await page.getByTestId("upload-input").setInputFiles({ name: "atelier-faq.md", mimeType: "text/markdown", buffer: FAQ });
      await page.getByTestId("index-button").click();
      await page.locator('[data-testid="document-row"][data-status="ready"]').waitFor({ timeout: 60_000 });
      withDb((db) => {
        const assistant = db.prepare("SELECT id FROM assistants WHERE is_default = 1").pluck().get() as string;
        db.prepare("INSERT INTO assistant_collections (assistant_id, collection_id) VALUES (?, ?)").run(assistant, collectionId);
      });

      await page.goto(`${server.url}/evals`);
      await page.getByTestId("create-eval-set").getByLabel("New set").fill("FAQ questions");
      await page.getByTestId("create-eval-set").getByRole("button", { name: "Create set" }).click();
      await page.waitForURL(/\/evals\/sets\/[^/]+$/);
      setUrl = page.url();
      expect(await page.getByTestId("set-name").textContent()).toBe("FAQ questions");
      await expect.poll(() => page.getByTestId("cannot-compute").textContent()).toContain("no accepted rows");

      await page.getByTestId("build-candidates").click();
      const candidates = page.getByTestId("candidate-row");
      await expect.poll(() => candidates.count(), { timeout: 30_000 }).toBeGreaterThan(5);
      const total = await candidates.count();

      // accept the first as it is
      const first = candidates.first();
      const firstQuestion = (await first.getByTestId("row-question").textContent())!;
      await first.getByTestId("accept-row").click();
      await expect.poll(() => candidates.count()).toBe(total - 1);
      // edit the next one (a sharper question, one required fact) and accept it
      const second = candidates.first();
      await second.getByTestId("edit-row").click();
      const editor = second.getByTestId("row-form");
      await editor.getByLabel("Question").fill("Which port does Atelier listen on by default?");
      await editor.getByLabel("Reference answer (optional)").fill("Atelier listens on port 3000 by default; set PORT to change it.");
      await editor.getByLabel("Required facts (one per line; /regex/i allowed)").fill("3000");
      await editor.getByTestId("row-form-submit").click();
      await expect.poll(() => candidates.count()).toBe(total - 2);

      const accepted = page.getByTestId("accepted-rows").getByTestId("row-question");
      await expect.poll(() => accepted.allTextContents()).toEqual([firstQuestion, "Which port does Atelier listen on by default?"]);
      expect(await page.getByTestId("set-coverage").textContent()).toMatch(/^2 questions · 2 with a reference · \d with required facts · 2 with an expected source · 0 out of scope · \d+ waiting for review$/);
      // only reviewed rows count; the rest wait
      expect(withDb((db) => db.prepare("SELECT status, count(*) AS n FROM eval_rows GROUP BY status ORDER BY status").all())).toEqual([
        { status: "accepted", n: 2 },
        { status: "candidate", n: total - 2 },
      ]);
    } catch (e) {
      await onFailure("build", e);
    }
  });

  it("runs the matrix and opens a row's drill-down", async () => {
    try {
      await page.goto(`${server.url}/evals`);
      const form = page.getByTestId("new-eval-run");
      await form.getByLabel("Max tokens per answer (empty: the assistant's setting)").fill("40");
      await form.getByTestId("start-eval-run").click();
      await page.waitForURL(/\/evals\/runs\/[^/]+$/);
      const status = page.locator('[data-testid="eval-run-status"]:is([data-status="succeeded"], [data-status="failed"])');
      await status.waitFor({ timeout: 150_000 });
      // a failed run or answer says why (the engine's error), not just that the numbers are 0%
      expect(withDb((db) => db.prepare("SELECT error FROM eval_runs UNION ALL SELECT error FROM eval_results").pluck().all()).filter(Boolean)).toEqual([]);
      expect(await status.getAttribute("data-status")).toBe("succeeded");

      const rows = page.getByTestId("matrix-row");
      await expect.poll(() => rows.count()).toBe(2);
      expect(await rows.nth(0).locator("th").textContent()).toContain("with knowledge");
      expect(await rows.nth(1).locator("th").textContent()).toContain("no knowledge");
      // every column with a value shows a mean and its interval; the best per column is marked
      expect(await page.getByTestId("eval-matrix").locator("td[data-metric='tokenF1']").first().textContent()).toMatch(/^\d+%( \(best\))?\d+–\d+%$/);
      expect(await page.locator("td[data-best]").count()).toBeGreaterThan(0);
      expect(await page.getByTestId("matrix-note").textContent()).toContain("seed 1234");
      const verdict = (await page.getByTestId("eval-verdict").textContent())!;
      expect(verdict).toContain("Only 2 questions: too few for a conclusion");
      expect(verdict).toContain("No recommendation yet");

      const drill = page.getByTestId("drill-row");
      await expect.poll(() => drill.count()).toBe(2);
      await drill.nth(1).getByRole("button").click();
      const detail = page.getByTestId("row-detail");
      await detail.waitFor();
      expect(await detail.textContent()).toContain("Which port does Atelier listen on by default?");
      const cells = detail.getByTestId("answer-cell");
      expect(await cells.count()).toBe(2);
      for (const text of await detail.getByTestId("answer-text").allTextContents()) expect(text.length).toBeGreaterThan(0);
      expect(await cells.first().textContent()).toMatch(/\[1\] Atelier FAQ/);
      expect(await cells.first().textContent()).toMatch(/Required facts(100|0)%/);

      // failures only: a subset of the rows
      await page.getByTestId("failures-only").check();
      await expect.poll(async () => (await drill.count()) <= 2).toBe(true);
      expect(setUrl).toMatch(/\/evals\/sets\//);
    } catch (e) {
      await onFailure("run", e);
    }
  });
});
