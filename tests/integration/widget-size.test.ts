import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildWidget } from "@/server/edge/widget/embed/build.mjs";

describe("widget.js", () => {
  it("builds to at most 8 KB gzipped, with no external imports", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-widget-"));
    await buildWidget(out);
    const launcher = fs.readFileSync(path.join(out, "widget.js"));
    const frame = fs.readFileSync(path.join(out, "widget-frame.js"));
    const gz = gzipSync(launcher, { level: 9 }).length;
    console.log(`widget.js: ${launcher.length} B raw, ${gz} B gzipped; widget-frame.js: ${frame.length} B raw, ${gzipSync(frame, { level: 9 }).length} B gzipped`);
    expect(gz).toBeLessThanOrEqual(8 * 1024);
    expect(launcher.toString()).not.toMatch(/\brequire\(|\bimport\s*\(/);
  });
});
