import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

/*
 * The everyday path in the browser (issue 16): copy, export, keyboard shortcuts, the theme, the
 * bundled emoji font, sources shown as cited or only retrieved, document titles and renaming,
 * retrieval settings, browser model upload, and the studio's cleaning rules, held-out file and
 * hyperparameters. Writes the README's screenshots of these controls (docs/screenshot-*.png).
 */

const FAILURE_SHOTS = path.join(ROOT, "test-results");
const DOCS = path.join(ROOT, "docs");
const STARTER = fs.readFileSync(path.join(ROOT, "models/starter/atelier-starter.gguf"));

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
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `everyday-${name}.png`), fullPage: true }).catch(() => {});
  throw e;
}

async function send(text: string) {
  const input = page.getByTestId("chat-input");
  await expect.poll(() => input.isEnabled(), { timeout: 60_000 }).toBe(true);
  await input.fill(text);
  await input.press("Enter");
}

const blur = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
const activeTestId = () => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? null);

describe("the everyday path in the browser", () => {
  beforeAll(async () => {
    session = await openConsole({ viewport: { width: 1280, height: 860 } });
    ({ server, page } = session);
    await session.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  });

  afterAll(async () => {
    await session?.close();
  });

  it("copies a message, and the keyboard starts a chat, focuses the box and stops an answer", async () => {
    try {
      await page.goto(`${server.url}/chat`);
      await send("What is Atelier?");
      await page.waitForURL(/\/chat\/[^/]+$/, { timeout: 30_000 });
      const answer = page.locator('[data-testid="message-assistant"][data-status="complete"]').last();
      await answer.waitFor({ timeout: 150_000 });
      await answer.getByTestId("copy-message").click();
      const stored = withDb((db) => db.prepare("SELECT content FROM messages WHERE role = 'assistant' ORDER BY created_at DESC LIMIT 1").pluck().get() as string);
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(stored);
      await expect.poll(() => answer.getByTestId("copy-message").textContent()).toBe("Copied");
      await page.getByTestId("message-user").last().getByTestId("copy-message").click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("What is Atelier?");

      // ? lists the shortcuts; Shift+Esc puts the cursor in the message box.
      await blur();
      await page.keyboard.press("?");
      await page.getByTestId("shortcuts-dialog").waitFor();
      expect(await page.getByTestId("shortcuts-dialog").textContent()).toMatch(/New chat.*Focus the message box.*Stop the answer/);
      await page.keyboard.press("Escape");
      await expect.poll(() => page.getByTestId("shortcuts-dialog").count()).toBe(0);
      await blur();
      await page.keyboard.press("Shift+Escape");
      await expect.poll(activeTestId).toBe("chat-input");

      // Esc stops an answer that is being written (a rambling one, so there is time to stop it).
      withDb((db) => db.prepare("UPDATE assistants SET sampling = json_set(sampling, '$.maxTokens', 400, '$.temperature', 2, '$.topP', 1, '$.topK', 0)").run());
      let status: string | null = null;
      for (let attempt = 0; attempt < 3 && status !== "interrupted"; attempt++) {
        await send("Write a very long essay about the history of the sea. Do not stop early.");
        await page.getByTestId("stop-button").waitFor({ timeout: 60_000 });
        await page.waitForFunction(() => (document.querySelector('[data-testid="message-assistant"][data-status="streaming"]')?.textContent?.length ?? 0) > 12 || !document.querySelector('[data-testid="stop-button"]'), undefined, { timeout: 120_000 });
        await page.keyboard.press("Escape");
        await page.waitForSelector('[data-testid="message-assistant"]:last-of-type:not([data-status="streaming"])', { timeout: 30_000 });
        await page.waitForTimeout(1500);
        status = await page.locator('[data-testid="message-assistant"]').last().getAttribute("data-status");
      }
      expect(status).toBe("interrupted");
      withDb((db) => db.prepare("UPDATE assistants SET sampling = json_set(sampling, '$.maxTokens', 48, '$.temperature', 0.3)").run());

      // Ctrl+Shift+O: a new chat, the cursor already in its box.
      await page.keyboard.press("Control+Shift+O");
      await page.waitForURL(/\/chat$/, { timeout: 30_000 });
      await expect.poll(activeTestId, { timeout: 10_000 }).toBe("chat-input");
    } catch (e) {
      await onFailure("copy-shortcuts", e);
    }
  });

  it("exports my chats as Markdown and JSON", async () => {
    try {
      await page.getByTestId("conversation-item").first().click();
      await page.waitForURL(/\/chat\/[^/]+$/);
      const title = (await page.getByTestId("conversation-title").textContent()) ?? "";
      await page.getByTestId("export-menu").locator("summary").click();
      const [md] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-menu").getByTestId("export-markdown").click()]);
      const text = fs.readFileSync((await md.path())!, "utf8");
      expect(md.suggestedFilename()).toMatch(/\.md$/);
      expect(text).toContain(`## ${title}`);
      expect(text).toMatch(/\*\*You\*\* · \d{4}-\d\d-\d\dT/);

      await page.getByTestId("export-all-menu").locator("summary").click();
      const [json] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-all-menu").getByTestId("export-json").click()]);
      const data = JSON.parse(fs.readFileSync((await json.path())!, "utf8")) as { conversations: { title: string; messages: unknown[] }[] };
      expect(data.conversations.length).toBeGreaterThanOrEqual(1);
      expect(data.conversations.some((c) => c.title === title && c.messages.length >= 2)).toBe(true);
    } catch (e) {
      await onFailure("export", e);
    }
  });

  it("shows as used only the sources an answer cites; the others as retrieved, not cited", async () => {
    try {
      const userId = withDb((db) => db.prepare("SELECT id FROM users LIMIT 1").pluck().get() as string);
      const assistantId = withDb((db) => db.prepare("SELECT id FROM assistants WHERE is_default = 1").pluck().get() as string);
      const citations = JSON.stringify([
        { n: 1, documentId: "d1", documentTitle: "Harbour handbook", chunkId: 1, heading: "Gate", excerpt: "The harbour gate opens two hours before high water and closes at dusk." },
        { n: 2, documentId: "d2", documentTitle: "Ferry timetable", chunkId: 2, heading: null, excerpt: "The island ferry leaves every hour from pier four." },
        { n: 3, documentId: "d3", documentTitle: "Fuel dock", chunkId: 3, heading: null, excerpt: "The fuel dock sells diesel only." },
      ]);
      withDb((db) => {
        db.prepare("INSERT INTO conversations (id, assistant_id, title, channel, user_id) VALUES ('cited', ?, 'When does the harbour gate open?', 'console', ?)").run(assistantId, userId);
        const add = db.prepare("INSERT INTO messages (id, conversation_id, position, role, content, status, model_label, citations, prompt_tokens, completion_tokens, tokens_per_second, ttft_ms) VALUES (?, 'cited', ?, ?, ?, 'complete', ?, ?, ?, ?, ?, ?)");
        add.run("q1", 0, "user", "When does the harbour gate open?", null, null, null, null, null, null);
        add.run("a1", 1, "assistant", "The gate opens **two hours before high water** and closes at dusk [1].", "atelier-starter", citations, 212, 18, 96, 40);
        add.run("q2", 2, "user", "And the ferry?", null, null, null, null, null, null);
        add.run("a2", 3, "assistant", "I don't know. I am a tiny model that only knows about Atelier.", "atelier-starter", citations, 220, 16, 95, 38);
      });
      await page.goto(`${server.url}/chat/cited`);
      const [cited, ignored] = [page.locator('[data-message-id="a1"]'), page.locator('[data-message-id="a2"]')];
      await cited.getByTestId("citations").waitFor({ timeout: 30_000 });
      expect(await cited.getByTestId("citations-used").locator("summary").textContent()).toBe("1 source cited");
      expect(await cited.getByTestId("citation").allTextContents()).toEqual([expect.stringMatching(/^\[1\] Harbour handbook — Gate/)]);
      expect(await cited.getByTestId("citations-uncited").locator("summary").textContent()).toBe("2 retrieved, not cited");
      expect(await ignored.getByTestId("citations-none-cited").textContent()).toMatch(/^No source cited — the answer does not refer to the passages/);
      expect(await ignored.getByTestId("citation").count()).toBe(0);
      await ignored.getByTestId("citations-uncited").locator("summary").click();
      expect(await ignored.getByTestId("citation-uncited").count()).toBe(3);
      fs.mkdirSync(DOCS, { recursive: true });
      await page.screenshot({ path: path.join(DOCS, "screenshot-sources.png") });
    } catch (e) {
      await onFailure("sources", e);
    }
  });

  it("switches to the dark theme and remembers it; the emoji and symbol fonts come from Atelier itself", async () => {
    try {
      await page.getByTestId("theme-dark").click();
      expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(true);
      const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await page.reload();
      await page.locator('[data-message-id="a1"]').waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => [document.documentElement.classList.contains("dark"), localStorage.getItem("atelier-theme")])).toEqual([true, "dark"]);
      expect(await page.getByTestId("theme-dark").getAttribute("aria-checked")).toBe("true");
      await page.screenshot({ path: path.join(DOCS, "screenshot-dark.png") });
      await page.getByTestId("theme-light").click();
      expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(false);
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe(darkBg);
      await page.getByTestId("theme-system").click();
      expect(await page.evaluate(() => localStorage.getItem("atelier-theme"))).toBeNull();

      // The fallback fonts load for emoji and Braille symbols, from this server (nothing is downloaded from elsewhere).
      const fonts = await page.evaluate(async () => {
        const emoji = await document.fonts.load('16px "Noto Color Emoji"', "😀");
        const symbols = await document.fonts.load('16px "Noto Sans Symbols 2"', "⣿");
        const urls = performance.getEntriesByType("resource").map((r) => r.name).filter((n) => /\.woff2?(\?|$)/.test(n));
        return { emoji: emoji.length, symbols: symbols.length, urls, family: getComputedStyle(document.body).fontFamily };
      });
      expect(fonts.emoji).toBeGreaterThan(0);
      expect(fonts.symbols).toBeGreaterThan(0);
      expect(fonts.urls.length).toBeGreaterThan(0);
      for (const u of fonts.urls) expect(u.startsWith(server.url)).toBe(true);
      expect(fonts.family).toMatch(/"Noto Color Emoji", "Noto Sans Symbols 2"/);
    } catch (e) {
      await onFailure("theme", e);
    }
  });

  let collectionId = "";
  it("titles a man-page document by its NAME line, and the owner renames it", async () => {
    try {
      await page.goto(`${server.url}/knowledge`);
      const form = page.getByTestId("create-collection-form");
      await form.getByLabel("Name").fill("Perl FAQ");
      await form.getByRole("button", { name: "Create" }).click();
      await page.getByRole("link", { name: "Perl FAQ" }).click();
      await page.waitForURL(/\/knowledge\/[^/]+$/);
      collectionId = new URL(page.url()).pathname.split("/").pop()!;
      const manPage = "# NAME\n\nperlfaq4 - Data Manipulation\n\n# DESCRIPTION\n\nThis section of the FAQ answers questions related to manipulating numbers, dates, strings, arrays, hashes.\n\n# VERSION\n\nversion 5.021011\n";
      await page.getByTestId("upload-input").setInputFiles({ name: "perlfaq4.md", mimeType: "text/markdown", buffer: Buffer.from(manPage) });
      await page.getByTestId("index-button").click();
      const row = page.locator('[data-testid="document-row"][data-status="ready"]');
      await row.waitFor({ timeout: 60_000 });
      expect(await row.getByRole("link").textContent()).toBe("perlfaq4 - Data Manipulation");
      await row.getByRole("link").click();
      await page.waitForURL(/\/knowledge\/doc\//);
      await page.getByTestId("rename-document").click();
      const box = page.getByTestId("rename-document-form").getByRole("textbox");
      await box.fill("Perl FAQ 4: data");
      await box.press("Enter");
      await expect.poll(() => page.getByTestId("document-title").textContent(), { timeout: 30_000 }).toBe("Perl FAQ 4: data");
      expect(withDb((db) => db.prepare("SELECT title FROM knowledge_documents").pluck().get())).toBe("Perl FAQ 4: data");
    } catch (e) {
      await onFailure("titles", e);
    }
  });

  it("sets retrieval per assistant; reranking is off, and says why, when no reranker is configured; a new assistant starts with an out-of-scope reply", async () => {
    try {
      const assistantId = withDb((db) => db.prepare("SELECT id FROM assistants WHERE is_default = 1").pluck().get() as string);
      await page.goto(`${server.url}/assistants/${assistantId}`);
      await page.getByText("Perl FAQ", { exact: true }).click();
      const settings = page.getByTestId("retrieval-settings");
      await settings.waitFor({ timeout: 30_000 });
      expect(await page.getByTestId("retrieval-rerank").isDisabled()).toBe(true);
      expect(await page.getByTestId("retrieval-rerank-hint").textContent()).toMatch(/no reranker model is configured\. Set ATELIER_RERANKER_MODEL/);
      await page.getByTestId("retrieval-passages").fill("3");
      await page.getByTestId("retrieval-min-score").fill("0.4");
      await page.getByTestId("save-assistant").click();
      await expect.poll(() => withDb((db) => db.prepare("SELECT retrieval FROM assistants WHERE id = ?").pluck().get(assistantId)), { timeout: 30_000 }).toBe(
        JSON.stringify({ passages: 3, minScore: 0.4, rerank: false }),
      );
      await page.reload();
      await expect.poll(() => page.getByTestId("retrieval-passages").inputValue(), { timeout: 30_000 }).toBe("3");
      expect(await page.getByLabel(/^Minimum score/).getAttribute("aria-describedby")).toBe("retrieval-min-score-hint");

      await page.goto(`${server.url}/assistants/new`);
      await expect.poll(() => page.locator("#assistant-oos").inputValue(), { timeout: 30_000 }).toMatch(/^Sorry, that is outside what I can help with here\./);
    } catch (e) {
      await onFailure("retrieval", e);
    }
  });

  it("uploads a GGUF from the browser with progress, resumes a started upload, and registers it", async () => {
    try {
      await page.goto(`${server.url}/models`);
      // 20 MB: the starter model plus zero padding after its tensors (still a valid GGUF), so it takes three chunks.
      const file = Buffer.concat([STARTER, Buffer.alloc(20 * 1024 * 1024 - STARTER.length)]);
      // from a file on disk: the browser reads it itself (a 20 MB buffer through the protocol is slow on a busy machine)
      const onDisk = path.join(server.dataDir, "padded-starter.gguf");
      fs.writeFileSync(onDisk, file);
      await page.getByTestId("upload-model-input").setInputFiles(onDisk, { timeout: 120_000 });
      await page.getByTestId("upload-model-form").getByLabel("Display name (optional)").fill("Padded starter");
      // An earlier visit already sent the first chunk (as a dropped connection would leave it).
      const firstChunk = await page.evaluate(async () => {
        const input = document.querySelector<HTMLInputElement>('[data-testid="upload-model-input"]')!;
        const f = input.files![0]!;
        const csrf = decodeURIComponent(document.cookie.match(/(?:^|;\s*)atelier_csrf=([^;]+)/)![1]!);
        const headers = { "content-type": "application/json", "x-atelier-csrf": csrf };
        const start = await (await fetch("/api/models/uploads", { method: "POST", headers, body: JSON.stringify({ fileName: f.name, size: f.size, resumeKey: `${f.name}|${f.size}|${f.lastModified}` }) })).json();
        const chunk = await f.slice(0, start.chunkBytes).arrayBuffer();
        const put = await (await fetch(`/api/models/uploads/${start.id}?offset=0`, { method: "PUT", headers: { "x-atelier-csrf": csrf }, body: chunk })).json();
        return put.received as number;
      });
      expect(firstChunk).toBe(8 * 1024 * 1024);
      const offsets: number[] = [];
      page.on("request", (r) => {
        const m = /\/api\/models\/uploads\/[^/?]+\?offset=(\d+)/.exec(r.url());
        if (m && r.method() === "PUT") offsets.push(Number(m[1]));
      });
      await page.getByTestId("upload-model-start").click();
      await expect.poll(() => page.getByRole("status").filter({ hasText: "Uploaded and registered Padded starter." }).count(), { timeout: 120_000 }).toBe(1);
      expect(offsets).toEqual([8 * 1024 * 1024, 16 * 1024 * 1024]); // resumed: the first chunk was not sent again
      await expect.poll(() => page.getByText("Padded starter").count(), { timeout: 30_000 }).toBeGreaterThan(0);
      await page.screenshot({ path: path.join(DOCS, "screenshot-models.png") });
      const row = withDb((db) => db.prepare("SELECT size_bytes AS size, source, json_extract(meta, '$.sha256') AS sha FROM models WHERE name = 'Padded starter'").get()) as { size: number; source: string; sha: string };
      expect(row).toMatchObject({ size: file.length, source: "upload:padded-starter.gguf" });
      const { createHash } = await import("node:crypto");
      expect(row.sha).toBe(createHash("sha256").update(file).digest("hex"));

      // A file that is not a GGUF is refused at the first chunk, with the reason.
      await page.getByTestId("upload-model-input").setInputFiles({ name: "notes.gguf", mimeType: "application/octet-stream", buffer: Buffer.from("just some notes, not a model".repeat(10)) });
      await page.getByTestId("upload-model-start").click();
      await expect.poll(() => page.getByTestId("upload-model-form").getByRole("alert").textContent(), { timeout: 30_000 }).toMatch(/notes\.gguf is not a GGUF file/);
    } catch (e) {
      await onFailure("upload", e);
    }
  });

  it("studio: each PII rule with counts and examples, a held-out file, and hyperparameters with bounds and hints", async () => {
    try {
      await page.goto(`${server.url}/studio/new`);
      const passages = Array.from(
        { length: 60 },
        (_, i) => `Harbour note ${i}: boat ${i * 7} moors at berth ${i % 9} and leaves when the tide turns at ${(i * 13) % 24} hours; the ferry waits for it.`,
      );
      const train = [
        "Copyright 1997-2010 the harbour office. Write to marta.kowalska@harbourworks.pl or call +44 20 7946 0958; documentation examples use user@example.com, and the B:: hierarchy is Perl's.",
        ...passages,
      ].join("\n\n");
      const test = Array.from({ length: 6 }, (_, i) => `Ferry note ${i}: the island ferry number ${100 + i} leaves pier four every hour and returns at ${i + 1} o'clock sharp.`).join("\n\n");
      await page.getByTestId("file-input").setInputFiles([
        { name: "harbour-train.md", mimeType: "text/markdown", buffer: Buffer.from(train) },
        { name: "harbour-test.md", mimeType: "text/markdown", buffer: Buffer.from(test) },
      ]);
      await page.getByTestId("dataset-name").fill("Harbour notes");
      await page.getByTestId("upload-button").click();
      await expect.poll(() => page.getByTestId("upload-result").textContent(), { timeout: 60_000 }).toMatch(/Harbour notes/);
      await page.getByTestId("wizard-next").click();

      await page.getByTestId("preview-result").waitFor({ timeout: 120_000 });
      const email = page.getByTestId("pii-rule-email");
      await expect.poll(() => email.getAttribute("data-found"), { timeout: 60_000 }).toBe("1");
      expect(await email.getAttribute("data-kept")).toBe("1");
      expect(await page.getByTestId("pii-rule-phone").getAttribute("data-found")).toBe("1"); // the phone, not 1997-2010
      expect(await page.getByTestId("pii-rule-ip").getAttribute("data-found")).toBe("0"); // not B::
      await email.locator("summary").click();
      expect(await page.getByTestId("pii-examples-email").textContent()).toMatch(/marta\.kowalska@harbourworks\.pl.*kept.*user@example\.com/);
      // switch the phone rule off: it still says what it finds, and leaves it as is
      await page.getByTestId("pii-rule-phone").getByRole("checkbox").uncheck();
      await expect.poll(() => page.getByTestId("pii-rule-phone").getByTestId("count").textContent(), { timeout: 30_000 }).toMatch(/1 found, left as is/);

      // hold out the test file instead of a random share
      await page.getByTestId("held-out-mode").selectOption({ label: "The file harbour-test.md (6 records)" });
      await expect.poll(() => page.getByTestId("preview-held-out").textContent(), { timeout: 60_000 }).toMatch(/· 6 records$/);
      await page.screenshot({ path: path.join(DOCS, "screenshot-studio.png"), fullPage: true });
      await page.getByTestId("wizard-next").click();

      await page.getByTestId("goal-domain").click();
      await page.getByText("Fine-tuning settings").click();
      const lr = page.getByTestId("lr-input");
      expect(await lr.getAttribute("placeholder")).toBe("0.002");
      expect(await page.evaluate(() => document.getElementById(document.querySelector('[data-testid="lr-input"]')!.getAttribute("aria-describedby")!)?.textContent)).toMatch(
        /^How big each correction is\..*Allowed: 0\.000001–0\.1\.$/,
      );
      await lr.fill("0.5");
      await expect.poll(() => page.getByTestId("hyperparameter-problem").textContent()).toMatch(/learning rate must be between/);
      expect(await page.getByTestId("wizard-next").isDisabled()).toBe(true);
      await lr.fill("0.001");
      await page.getByTestId("warmup-input").fill("3");
      await page.getByTestId("batch-input").fill("4");
      await page.getByTestId("seq-len-input").fill("64");
      await expect.poll(() => page.getByTestId("hyperparameter-problem").count()).toBe(0);
      // each method says what the planner predicts for it on this machine (measured, not assumed)
      const described = (testId: string) =>
        page.evaluate((t) => document.getElementById(document.querySelector(`[data-testid="${t}"]`)!.getAttribute("aria-describedby")!)?.textContent ?? "", testId);
      await expect.poll(() => described("method-lora"), { timeout: 180_000 }).toMatch(/Predicted here: about \d/);
      await expect.poll(() => described("method-full"), { timeout: 180_000 }).toMatch(/Predicted here: about \d|Won’t fit/);
      await page.getByTestId("wizard-next").click();
      await page.getByTestId("plan").waitFor({ timeout: 180_000 });
      await page.getByTestId("plan-accuracy").locator("summary").click();
      expect(await page.getByTestId("plan-accuracy").textContent()).toMatch(/No training has finished on this machine yet|corrected by those ratios/);
    } catch (e) {
      await onFailure("studio", e);
    }
  });
});
