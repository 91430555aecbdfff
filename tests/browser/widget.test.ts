import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import Database from "better-sqlite3";
import OpenAI from "openai";
import { type Browser, type BrowserContext, type FrameLocator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signIn } from "./auth";
import { ROOT, startServer, type RunningServer, launchChromium } from "./server";

const FAILURE_SHOTS = path.join(ROOT, "test-results");

let server: RunningServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const hosts: http.Server[] = [];
let allowedUrl = "";
let refusedUrl = "";
let snippet = "";
let publicId = "";
const dialogs: string[] = [];
const QUESTION = "Tell me everything about Atelier, in detail.";
/** Visitor messages sent so far in the one widget conversation. */
let sent = 0;

/** A third-party website: a tiny HTTP server on another loopback port serving one page. */
async function hostSite(html: () => string): Promise<string> {
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html());
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  hosts.push(srv);
  // "localhost" rather than 127.0.0.1: another site than Atelier's, as in real life.
  return `http://localhost:${(srv.address() as AddressInfo).port}`;
}

function sql(statement: string, ...args: unknown[]) {
  const db = new Database(path.join(server.dataDir, "atelier.db"));
  try {
    db.pragma("busy_timeout = 5000");
    return db.prepare(statement).run(...args);
  } finally {
    db.close();
  }
}
function query<T>(statement: string, ...args: unknown[]): T[] {
  const db = new Database(path.join(server.dataDir, "atelier.db"), { readonly: true });
  try {
    return db.prepare(statement).all(...args) as T[];
  } finally {
    db.close();
  }
}

async function onFailure(name: string, e: unknown): Promise<never> {
  console.error(server.log());
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `widget-${name}.png`) }).catch(() => {});
  throw e;
}

const chat = (): FrameLocator => page.frameLocator("[data-atelier-widget] iframe");

async function sendInWidget(text: string) {
  const input = chat().locator("#input");
  await input.waitFor({ timeout: 30_000 });
  await expect.poll(() => chat().locator("#send").isEnabled(), { timeout: 120_000 }).toBe(true);
  await input.fill(text);
  await input.press("Enter");
}

const XSS_FLAG = "window.__xss=1;try{parent.__xss=1;top.__xss=1}catch(e){}";
const XSS = [
  `<img src=x onerror="${XSS_FLAG}alert(1)">`,
  `<script>${XSS_FLAG}alert(2)</script>`,
  `<svg onload="${XSS_FLAG}">`,
  `"><iframe srcdoc="<script>parent.parent.__xss=1</script>">`,
  `[click](javascript:${XSS_FLAG})`,
  `</script><script>${XSS_FLAG}</script>`,
];

describe("the embeddable widget on a third-party site", () => {
  beforeAll(async () => {
    server = await startServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    await signIn(context, server, "editor");
    page = await context.newPage();
    page.on("pageerror", (e) => console.error("[page error]", e.message));
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    allowedUrl = await hostSite(() => `<!doctype html><html><head><title>Shop</title><style>*{all:unset !important} button{display:none !important}</style></head><body><h1>My shop</h1>${snippet}</body></html>`);
    refusedUrl = await hostSite(
      () => `<!doctype html><html><body><h1>Not allowed</h1>${snippet}<iframe id="direct" src="${server.url}/w/${publicId}" title="direct"></iframe></body></html>`,
    );
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    for (const h of hosts) h.close();
    await server?.stop();
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it("an editor deploys the assistant for one origin from the deploy page", async () => {
    try {
      await page.goto(`${server.url}/deploy`);
      await page.getByTestId("deploy-list").getByRole("link").first().click();
      await page.waitForURL(/\/deploy\/[^/]+$/);
      await page.getByTestId("deploy-origins").fill(allowedUrl);
      await page.getByTestId("deploy-enabled").check();
      await page.getByTestId("deploy-save").click();
      await page.getByText("Saved.").waitFor({ timeout: 30_000 });
      snippet = (await page.getByTestId("deploy-snippet").textContent()) ?? "";
      expect(snippet).toMatch(/^<script src="http:\/\/127\.0\.0\.1:\d+\/widget\.js" data-assistant="asst_[\w-]{16}" async><\/script>$/);
      publicId = /data-assistant="([^"]+)"/.exec(snippet)![1]!;
      // Long enough answers to watch them stream; the server reads sampling on every request.
      sql("UPDATE assistants SET sampling = json_set(sampling, '$.maxTokens', 120, '$.temperature', 2, '$.topP', 1, '$.topK', 0)");
    } catch (e) {
      await onFailure("deploy", e);
    }
  });

  it("an API key created on the deploy page works with the openai client against next start", async () => {
    try {
      await page.getByLabel("Key name").fill("browser test");
      await page.getByRole("button", { name: "Create key" }).click();
      const key = ((await page.getByTestId("new-api-key").textContent({ timeout: 30_000 })) ?? "").trim();
      expect(key).toMatch(/^atl_/);
      const client = new OpenAI({ apiKey: key, baseURL: `${server.url}/v1`, maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual([publicId]);
      const res = await client.chat.completions.create({ model: publicId, messages: [{ role: "user", content: "Hi" }], max_tokens: 8 });
      expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
      // Stored as its SHA-256 only.
      const sha = createHash("sha256").update(key).digest("hex");
      expect(query<{ n: number }>("SELECT count(*) AS n FROM api_keys WHERE key_hash = ?", sha)).toEqual([{ n: 1 }]);
      expect(query<{ n: number }>("SELECT count(*) AS n FROM api_keys WHERE instr(key_hash || prefix || name, ?) > 0", key)).toEqual([{ n: 0 }]);
    } catch (e) {
      await onFailure("api-key", e);
    }
  });

  it("loads on the allowed site despite hostile CSS, chats, and streams the answer", async () => {
    try {
      await page.goto(allowedUrl);
      const launcher = page.locator("[data-atelier-widget] button");
      await launcher.waitFor({ timeout: 30_000 });
      expect(await launcher.getAttribute("aria-label")).toMatch(/^Open chat: /);
      expect(await launcher.isVisible()).toBe(true);
      await launcher.click();
      expect(await launcher.getAttribute("aria-expanded")).toBe("true");
      await chat().locator("#input").waitFor({ timeout: 30_000 });

      // Record every distinct length of the streaming answer from inside the iframe.
      const frame = page.frames().find((f) => f.url().includes(`/w/${publicId}`))!;
      await frame.evaluate(() => {
        const w = window as unknown as { __lengths: number[] };
        new MutationObserver(() => {
          const el = document.querySelector('[data-role="assistant"][data-status="streaming"] .t');
          const n = el?.textContent?.length ?? 0;
          if (n > 0 && w.__lengths.at(-1) !== n) w.__lengths.push(n);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      // Even rambling, the tiny model sometimes stops after a few tokens that land in one paint;
      // ask again (bounded) until an answer long enough to watch has streamed in.
      let lengths: number[] = [];
      for (let attempt = 1; attempt <= 4 && new Set(lengths).size < 2; attempt++) {
        await frame.evaluate(() => ((window as unknown as { __lengths: number[] }).__lengths = []));
        await sendInWidget(QUESTION);
        sent++;
        await expect.poll(() => chat().locator('[data-role="assistant"][data-status]').count(), { timeout: 60_000 }).toBe(sent);
        await expect.poll(() => chat().locator('[data-role="assistant"][data-status="streaming"]').count(), { timeout: 150_000 }).toBe(0);
        lengths = await frame.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths);
      }
      expect(new Set(lengths).size).toBeGreaterThan(1);
      expect(await chat().locator('[data-role="user"]').first().textContent()).toBe(QUESTION);
      fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(FAILURE_SHOTS, "widget-open.png") });

      // Thumbs up from the visitor lands on the message.
      await chat().getByRole("button", { name: "Helpful", exact: true }).first().click();
      await expect.poll(() => chat().getByRole("button", { name: "Helpful", exact: true }).first().getAttribute("aria-pressed")).toBe("true");
      expect(query<{ feedback: number }>("SELECT feedback FROM messages WHERE role = 'assistant' AND feedback IS NOT NULL")).toEqual([{ feedback: 1 }]);

      // Escape closes and gives focus back to the launcher.
      await chat().locator("#input").press("Escape");
      await expect.poll(() => launcher.getAttribute("aria-expanded")).toBe("false");
    } catch (e) {
      await onFailure("chat", e);
    }
  });

  it("survives a reload with its history, and is full-screen on a phone-sized viewport", async () => {
    try {
      await page.evaluate(() => (window as unknown as { Atelier: { open(): void } }).Atelier.open());
      await page.reload();
      await chat().locator('[data-role="user"]').waitFor({ timeout: 30_000 });
      expect(await chat().locator('[data-role="user"]').count()).toBe(sent);
      expect(await chat().locator('[data-role="assistant"][data-status]').count()).toBe(sent);
      const conv = query<{ channel: string; origin: string }>("SELECT channel, origin FROM conversations WHERE channel = 'widget'");
      expect(conv).toEqual([{ channel: "widget", origin: allowedUrl }]);

      await page.setViewportSize({ width: 375, height: 700 });
      const box = await page.locator("[data-atelier-widget] iframe").boundingBox();
      expect(box).toMatchObject({ x: 0, y: 0, width: 375, height: 700 });
      await page.setViewportSize({ width: 1280, height: 820 });
    } catch (e) {
      await onFailure("reload", e);
    }
  });

  it("renders an XSS corpus from the model and from the visitor inert", async () => {
    try {
      // What the model "said" and what retrieval cited, stored as-is, as a hostile model could.
      const [conv] = query<{ id: string }>("SELECT id FROM conversations WHERE channel = 'widget'");
      const citations = JSON.stringify(XSS.map((x, i) => ({ n: i + 1, documentId: "d", documentTitle: x, chunkId: i, heading: x, excerpt: x })));
      sql("UPDATE messages SET content = ?, citations = ? WHERE conversation_id = ? AND role = 'assistant'", XSS.join("\n"), citations, conv!.id);
      sql("UPDATE deployments SET appearance = json_set(appearance, '$.title', ?, '$.greeting', ?)", XSS[0], XSS[1]);
      await page.reload();
      await chat().locator('[data-role="assistant"] .cites').waitFor({ timeout: 30_000 });
      expect(await chat().locator('[data-role="assistant"]:not(.greeting) .t').first().textContent()).toBe(XSS.join("\n"));
      for (const x of XSS) await sendInWidget(x);
      sent += XSS.length;
      await expect.poll(() => chat().locator('[data-role="user"]').count(), { timeout: 30_000 }).toBe(sent);
      await expect.poll(() => chat().locator('[data-role="assistant"][data-status]').count(), { timeout: 150_000 }).toBe(sent);
      for (const x of XSS) expect(await chat().getByText(x, { exact: true }).count()).toBeGreaterThan(0);

      const frame = page.frames().find((f) => f.url().includes(`/w/${publicId}`))!;
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(await frame.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(await chat().locator('img, svg, script:not([src]):not([type="application/json"]), iframe').count()).toBe(0);
      expect(dialogs).toEqual([]);
      sql("UPDATE deployments SET appearance = json_set(appearance, '$.title', NULL, '$.greeting', NULL)");
    } catch (e) {
      await onFailure("xss", e);
    }
  });

  it("lists only the sources an answer cites, unnumbered by the list itself (no '1. [1]'); the rest as retrieved, not cited", async () => {
    try {
      // the last answers may still be generating: wait until none is, so nothing overwrites the edit below
      await expect.poll(() => query<{ n: number }>("SELECT count(*) AS n FROM messages WHERE status = 'streaming'")[0]!.n, { timeout: 150_000 }).toBe(0);
      const [conv] = query<{ id: string }>("SELECT id FROM conversations WHERE channel = 'widget'");
      const [last] = query<{ id: string }>("SELECT id FROM messages WHERE conversation_id = ? AND role = 'assistant' ORDER BY position DESC LIMIT 1", conv!.id);
      const citations = [
        { n: 1, documentId: "d1", documentTitle: "Harbour handbook", chunkId: 1, heading: "Gate", excerpt: "The gate opens two hours before high water." },
        { n: 2, documentId: "d2", documentTitle: "Ferry timetable", chunkId: 2, heading: null, excerpt: "The ferry leaves every hour." },
      ];
      sql("UPDATE messages SET content = ?, citations = ?, status = 'complete' WHERE id = ?", "It opens two hours before high water [1].", JSON.stringify(citations), last!.id);
      await page.reload();
      const used = chat().getByTestId("widget-sources").last();
      await used.waitFor({ timeout: 30_000 });
      expect(await used.locator("li").allTextContents()).toEqual(["[1] Harbour handbook — Gate"]);
      expect(await used.evaluate((el) => el.tagName + " " + getComputedStyle(el).listStyleType)).toBe("UL none");
      const uncited = chat().getByTestId("widget-uncited").last();
      expect(await uncited.locator("summary").textContent()).toBe("1 retrieved, not cited");
      expect(await uncited.locator("li").allTextContents()).toEqual(["[2] Ferry timetable"]);
    } catch (e) {
      await onFailure("sources", e);
    }
  });

  it("shows the friendly message when the visitor's daily quota is used up", async () => {
    try {
      await expect.poll(() => chat().locator("#send").isEnabled(), { timeout: 150_000 }).toBe(true);
      sql("UPDATE deployments SET visitor_daily_limit = 1");
      await sendInWidget("One more question?");
      const notice = chat().getByTestId("widget-notice").last();
      await notice.waitFor({ timeout: 30_000 });
      expect(await notice.textContent()).toMatch(/today's message limit/);
      expect(await notice.getAttribute("role")).toBe("alert");
      sql("UPDATE deployments SET visitor_daily_limit = 50");
    } catch (e) {
      await onFailure("quota", e);
    }
  });

  it("is refused on a site that is not allowed, even when it frames the chat page directly", async () => {
    try {
      const warnings: string[] = [];
      page.on("console", (m) => warnings.push(m.text()));
      await page.goto(refusedUrl);
      await expect.poll(() => warnings.some((w) => w.includes("chat widget unavailable")), { timeout: 30_000 }).toBe(true);
      expect(await page.locator("[data-atelier-widget]").count()).toBe(0);
      // CSP frame-ancestors keeps the chat page out of the frame.
      await page.waitForTimeout(1000);
      expect(await page.frameLocator("#direct").locator("#input").count()).toBe(0);
    } catch (e) {
      await onFailure("refused", e);
    }
  });
});
