import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeProcess, type NodeProcess } from "../scaleout/helpers";
import { ROOT, type RunningServer } from "./server";
import { openConsole, type ConsoleSession } from "./session";

/*
 * The Models page's inference nodes panel against `next start` and a real `atelier node` process:
 * a wrong token is refused with the reason, the right one registers a healthy node with its slots,
 * the starter is served from it (sha256 checked), and a dead node shows as unreachable.
 */

const TOKEN = "browser-node-token-123456";
let server: RunningServer;
let session: ConsoleSession | undefined;
let page: Page;
let node: NodeProcess;

describe("inference nodes on the Models page", () => {
  beforeAll(async () => {
    node = await startNodeProcess({ token: TOKEN, args: ["--model", `starter=${path.join(ROOT, "models/starter/atelier-starter.gguf")}`] });
    session = await openConsole({ role: "admin", onDialog: (d) => void d.accept() });
    ({ server, page } = session);
  });

  afterAll(async () => {
    await session?.close();
    await node?.kill("SIGTERM");
  });

  it("registers a node, serves the starter from it, and shows its health live", async () => {
    try {
      await page.goto(`${server.url}/models`);
      const form = page.getByTestId("register-node-form");
      await form.getByLabel("URL (without /v1)").fill(node.url);
      await form.getByLabel("Node token").fill("wrong-token-wrong-token");
      await form.getByRole("button", { name: "Register" }).click();
      await form.getByRole("alert").waitFor();
      expect(await form.getByRole("alert").textContent()).toMatch(/refused the key \(HTTP 401\)/);

      await form.getByLabel("Name (optional)").fill("gpu box");
      await form.getByLabel("Node token").fill(TOKEN);
      await form.getByRole("button", { name: "Register" }).click();
      const card = page.getByTestId("node-card").filter({ hasText: "gpu box" });
      await card.waitFor();
      await card.getByText("healthy").waitFor();
      expect(await card.textContent()).toMatch(/Slots busy0 \/ 2/); // busy / total, reported by the node (ATELIER_SEQUENCES=2)

      const assign = page.getByTestId("assign-model-form");
      await assign.getByLabel("Node", { exact: true }).selectOption({ label: "gpu box" });
      await assign.getByLabel("Model version").selectOption({ index: 1 });
      await assign.getByLabel("Name on the node").fill("starter");
      await assign.getByRole("button", { name: "Serve from this node" }).click();
      await card.getByText("same file (sha256 checked)").waitFor();

      await node.kill("SIGKILL");
      await card.getByRole("button", { name: "Check now" }).click();
      await card.getByText("unreachable").waitFor();
      expect(await card.textContent()).toMatch(/connection refused/);
    } catch (e) {
      console.error(server.log());
      fs.mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, "test-results", "nodes-panel.png") }).catch(() => {});
      throw e;
    }
  });
});
