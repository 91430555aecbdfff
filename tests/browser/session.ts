import fs from "node:fs";
import type { Browser, BrowserContext, Dialog, Page } from "playwright-core";
import type { Role } from "@/server/db/auth-tables";
import { signIn } from "./auth";
import { launchChromium, startServer, type RunningServer } from "./server";

export type ConsoleSession = { server: RunningServer; browser: Browser; context: BrowserContext; page: Page; close: () => Promise<void> };

/**
 * A fresh Atelier (`next start`, own data dir) and a Chromium page on it, signed in with `role`
 * (null: not signed in). close() stops both and removes the data dir.
 */
export async function openConsole(
  opts: { role?: Role | null; viewport?: { width: number; height: number }; onDialog?: (d: Dialog) => void; env?: Record<string, string> } = {},
): Promise<ConsoleSession> {
  const server = await startServer(opts.env);
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 820 } });
  const role = opts.role === undefined ? "admin" : opts.role;
  if (role) await signIn(context, server, role);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("[page error]", e.message));
  if (opts.onDialog) page.on("dialog", opts.onDialog);
  const close = async () => {
    await browser.close().catch(() => {});
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  };
  return { server, browser, context, page, close };
}
