import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

const FAILURE_SHOTS = path.join(ROOT, "test-results");
/** Few optimizer steps keep the run short on a loaded 2-core box, yet long enough to watch the curve grow. */
const MAX_STEPS = Number(process.env.STUDIO_TEST_STEPS ?? 12);

let server: RunningServer;
let session: ConsoleSession | undefined;
let page: Page;

/**
 * A small domain corpus: one plain-text passage per product (distinct enough that near-dedupe keeps
 * them, so some are held out and perplexity is measured), with a stray e-mail for the PII scrubber.
 */
function corpus(): Buffer {
  const items: [string, string, string, string][] = [
    ["sourdough loaf", "rests for eighteen hours", "a stone oven at 250 degrees", "the crust turns deep brown"],
    ["rye bread", "is fed from the starter called Bertha", "a tin lined with oat bran", "it keeps for a week"],
    ["butter croissant", "is laminated in three double folds", "trays of twelve at 190 degrees", "the layers shatter when cut"],
    ["almond tart", "uses frangipane made the evening before", "the lower deck of the oven", "it is glazed with apricot jam"],
    ["cinnamon bun", "is rolled with brown sugar and cardamom", "a ring mould brushed with butter", "children queue for it on Saturdays"],
    ["baguette", "is shaped by hand with a light touch", "steam for the first ten minutes", "it must be eaten the same day"],
    ["focaccia", "is dimpled with olive oil and rosemary", "a deep rectangular pan", "the bottom fries to a golden crunch"],
    ["spelt roll", "contains toasted sunflower seeds", "a convection setting for even colour", "it is popular with cyclists"],
    ["lemon cake", "gets a syrup of lemon juice and sugar", "a loaf tin at 170 degrees", "it stays moist for three days"],
    ["pretzel", "is dipped in a lye bath before baking", "coarse salt on a perforated sheet", "it pairs with the house mustard"],
    ["brioche", "is enriched with eggs and cold butter", "a fluted mould for the festive version", "it makes the best French toast"],
    ["olive ciabatta", "is folded four times during bulk fermentation", "a floured couche overnight", "its holes are large and glossy"],
    ["carrot muffin", "is sweetened with dates instead of sugar", "paper cases in a muffin tray", "the café serves it warm"],
    ["chocolate babka", "is twisted into a braid after filling", "a long pan with a sugar wash", "slices show a marbled swirl"],
    ["oat cookie", "is mixed with raisins soaked in tea", "a cool oven so the edges stay soft", "it is sold by the bag of six"],
    ["wholemeal sandwich loaf", "is milled from local wheat every Monday", "a lidded Pullman tin", "its square slices suit packed lunches"],
    ["plum crumble", "uses plums from the orchard next door", "an enamel dish at 180 degrees", "it is served with vanilla custard"],
    ["cheese scone", "contains mature cheddar and chives", "a hot tray so it rises tall", "it is best split and buttered"],
    ["apple turnover", "is folded around spiced apple compote", "an egg wash for a shiny top", "it is the bakery's oldest recipe"],
    ["seeded rye crispbread", "is rolled thinner than a coin", "a low oven to dry it out slowly", "it keeps for a month in a tin"],
  ];
  const passages = items.map(
    ([name, prep, bake, note], i) =>
      `The ${name} at the Lumen bakery ${prep}. The bakers bake it in ${bake}, and ${note}. ` +
      `${i % 5 === 0 ? "Questions about allergens go to the head baker at baker@lumen.example. " : ""}` +
      `Batch ${i + 1} of the ${name} is ready at ${6 + (i % 4)} o'clock.`,
  );
  return Buffer.from(passages.join("\n\n") + "\n", "utf8");
}

async function onFailure(name: string, e: unknown): Promise<never> {
  console.error(server?.log());
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page?.screenshot({ path: path.join(FAILURE_SHOTS, `studio-${name}.png`), fullPage: true }).catch(() => {});
  throw e;
}

/** Records every distinct number of training points the chart shows, from inside the page. */
async function watchChartPoints(p: Page) {
  await p.evaluate(() => {
    const w = window as unknown as { __points: number[]; __chartObserver?: MutationObserver };
    w.__chartObserver?.disconnect();
    w.__points = [];
    const record = () => {
      const n = Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute("data-train-points") ?? 0);
      if (n > 0 && w.__points[w.__points.length - 1] !== n) w.__points.push(n);
    };
    record();
    w.__chartObserver = new MutationObserver(record);
    w.__chartObserver.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-train-points"] });
  });
  return () => p.evaluate(() => (window as unknown as { __points: number[] }).__points.slice());
}

/** Set STUDIO_SHOTS=1 to keep full-page screenshots of each screen in test-results/ (for reviewing the UI). */
async function shot(name: string) {
  if (!process.env.STUDIO_SHOTS) return;
  fs.mkdirSync(FAILURE_SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(FAILURE_SHOTS, `studio-shot-${name}.png`), fullPage: true });
}

const next = async (p: Page) => {
  await shot(`step-${(await p.locator('[data-testid^="step-"]').getAttribute("data-testid"))?.slice(5)}`);
  await p.getByTestId("wizard-next").click();
};

describe("training studio in the browser", () => {
  beforeAll(async () => {
    // The console scrolls inside its main pane, so review screenshots need a tall window.
    session = await openConsole({ viewport: { width: Number(process.env.STUDIO_SHOTS_WIDTH ?? 1280), height: process.env.STUDIO_SHOTS ? 2200 : 900 } });
    ({ server, page } = session);
  });

  afterAll(async () => {
    await session?.close();
  });

  it("uploads, previews, plans and starts a tiny training; shows per-file upload errors", async () => {
    try {
      await page.goto(`${server.url}/studio`);
      await page.getByRole("heading", { name: "Studio", level: 1 }).waitFor({ timeout: 30_000 });
      await page.getByTestId("new-training").click();
      await page.waitForURL(/\/studio\/new$/);

      // A broken JSONL file: nothing is stored, and the problem names the file and the line.
      await page.getByTestId("file-input").setInputFiles({
        name: "broken.jsonl",
        mimeType: "application/jsonl",
        buffer: Buffer.from('{"question":"When do you open?","answer":"At six."}\n{"question": oops\n'),
      });
      await page.getByTestId("upload-button").click();
      await expect.poll(() => page.getByTestId("upload-error").first().textContent(), { timeout: 30_000 }).toMatch(/broken\.jsonl.*line 2/);
      await page.getByRole("button", { name: "Remove broken.jsonl" }).click();

      // The real corpus.
      await page.getByTestId("file-input").setInputFiles({ name: "lumen-handbook.txt", mimeType: "text/plain", buffer: corpus() });
      await page.getByTestId("dataset-name").fill("Lumen handbook");
      await page.getByTestId("upload-button").click();
      await expect.poll(() => page.getByTestId("upload-result").textContent(), { timeout: 60_000 }).toMatch(/Lumen handbook/);
      await next(page);

      // Preview: token count under the base model and the cleaning effect (PII scrub is on for raw text).
      await page.getByTestId("preview-result").waitFor({ timeout: 120_000 });
      await expect.poll(async () => Number(((await page.getByTestId("preview-tokens").textContent()) ?? "0").replace(/\D/g, "")), { timeout: 60_000 }).toBeGreaterThan(0);
      expect(await page.getByLabel("Scrub personal data").isChecked()).toBe(true);
      await next(page);

      // Goal: teach it my domain, LoRA by default; cap the steps so it finishes quickly.
      await page.getByTestId("goal-domain").click();
      expect(await page.getByTestId("method-lora").isChecked()).toBe(true);
      await page.getByText("Fine-tuning settings").click();
      await page.getByTestId("epochs-input").fill("1");
      await page.getByTestId("max-steps-input").fill(String(MAX_STEPS));
      await next(page);

      // Plan: fits, with a recommendation and reasons in plain words.
      await expect.poll(() => page.getByTestId("plan-fits").getAttribute("data-fits"), { timeout: 180_000 }).toBe("true");
      expect(await page.getByTestId("plan-time").textContent()).toMatch(/\d/);
      expect((await page.getByTestId("plan-recommendation").textContent())?.length).toBeGreaterThan(20);
      await next(page);

      await page.getByTestId("run-name").fill("Lumen tiny run");
      await shot("step-start");
      await page.getByTestId("start-training").click();
      await page.waitForURL(/\/studio\/runs\/[^/]+$/, { timeout: 30_000 });
    } catch (e) {
      await onFailure("wizard", e);
    }
    // The goal step measures LoRA and the full fine-tune, and the plan step waits up to 180 s for its
    // own: on a busy 2-core machine the whole wizard outlasts the default 180 s test timeout.
  }, 420_000);

  it("shows the run live: the loss chart grows until the run finishes, then perplexity before → after", async () => {
    try {
      await page.getByTestId("loss-chart").waitFor({ timeout: 30_000 });
      const points = await watchChartPoints(page);
      await expect.poll(() => page.getByTestId("run-status").first().getAttribute("data-status"), { timeout: 600_000, interval: 1000 }).toMatch(/succeeded|failed/);
      expect(await page.getByTestId("run-status").first().getAttribute("data-status"), server.log()).toBe("succeeded");
      const seen = await points();
      console.info(`chart training points seen while the run was live: ${seen.join(", ")}`);
      expect(seen.length, `points seen: ${seen.join(",")}`).toBeGreaterThanOrEqual(2);
      expect(seen.every((n, i) => i === 0 || n > (seen[i - 1] ?? 0))).toBe(true);
      await page.getByTestId("run-results").waitFor({ timeout: 30_000 });
      await shot("run");
      // The trainer's own time beside the estimate, then the whole wait when preparation and evaluation
      // added a second or more (on a fast run they may not: then the sentence ends after the estimate).
      expect(await page.getByTestId("run-results").textContent()).toMatch(/Training took \d.*(in line with|longer than|shorter than) the .* estimate(; .* in all|\.)/);
      // Some passages were held out, so perplexity is measured before and after, with its change.
      expect(await page.getByTestId("run-results").getByTestId("perplexity").textContent()).toMatch(/[\d,.]+ → [\d,.]+ \((−|\+|±)[\d.]+%\)/);
      // Bits per byte beside it (comparable across tokenizers), and the peak memory measured from the trainer beside its estimate.
      expect(await page.getByTestId("run-results").getByTestId("bits-per-byte").textContent()).toMatch(/[\d.]+ → [\d.]+ bits per byte/);
      expect(await page.getByTestId("run-peak-memory").textContent()).toMatch(/^[\d.,]+ (MiB|GiB) measured — (in line with|\d+% (above|below)) the [\d.,]+ (MiB|GiB) estimate\.$/);
      await expect.poll(() => page.getByTestId("run-progress").first().textContent()).toMatch(/100%/);
    } catch (e) {
      await onFailure("run", e);
    }
  });

  it("compares, activates the new version for the assistant, and rolls back", async () => {
    try {
      const evaluate = page.getByTestId("evaluate");
      await evaluate.waitFor({ timeout: 30_000 });
      // One short prompt keeps the side-by-side quick.
      await page.locator('[data-testid="eval-prompts"][data-loaded]').waitFor({ timeout: 30_000 });
      while ((await page.getByTestId("eval-prompt").count()) > 1) await page.getByRole("button", { name: /Remove prompt/ }).last().click();
      if ((await page.getByTestId("eval-prompt").count()) === 0) await page.getByRole("button", { name: "+ Add a prompt" }).click();
      await page.getByTestId("eval-prompt").first().fill("When does the bakery open?");
      await page.getByTestId("compare-button").click();
      await expect.poll(() => page.getByTestId("answer-candidate").first().textContent(), { timeout: 180_000 }).not.toMatch(/^(…|—)?$/);
      await expect.poll(() => page.getByTestId("answer-current").first().textContent(), { timeout: 180_000 }).not.toMatch(/^(…|—)?$/);

      const rows = page.getByTestId("version-row");
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
      const previous = await page.locator('[data-testid="version-row"][data-active]').first().getAttribute("data-model-id");
      expect(previous).toBeTruthy();

      await page.getByTestId("activate-candidate").click();
      await expect.poll(() => page.getByTestId("activate-candidate").textContent(), { timeout: 30_000 }).toMatch(/^Active for/);
      const candidate = await page.locator('[data-testid="version-row"][data-active]').first().getAttribute("data-model-id");
      expect(candidate).not.toBe(previous);
      expect(await page.locator(`[data-testid="version-row"][data-model-id="${candidate}"] [data-testid="version-lineage"]`).textContent()).toMatch(/Lumen handbook/);

      await shot("evaluate");
      // One click back to the earlier version.
      await page.locator(`[data-testid="version-row"][data-model-id="${previous}"] [data-testid="rollback-button"]`).click();
      await expect.poll(() => page.locator('[data-testid="version-row"][data-active]').first().getAttribute("data-model-id"), { timeout: 30_000 }).toBe(previous);
      await expect.poll(() => page.getByRole("status").filter({ hasText: "Rolled back" }).count()).toBeGreaterThan(0);

      // The overview lists the run as finished.
      await page.goto(`${server.url}/studio`);
      await expect.poll(() => page.getByTestId("run-card").first().textContent(), { timeout: 30_000 }).toMatch(/Lumen tiny run/);
      expect(await page.getByTestId("run-card").first().getByTestId("run-status").getAttribute("data-status")).toBe("succeeded");
      await shot("overview");
    } catch (e) {
      await onFailure("activate", e);
    }
  });
});
