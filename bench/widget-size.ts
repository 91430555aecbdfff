// The embeddable widget's weight on the owner's site: builds widget.js and widget-frame.js the way
// `npm run build:widget` does, into a temp dir, and rewrites the "widget" block of BENCHMARKS.md.
//
//   npx tsx bench/widget-size.ts [--out BENCHMARKS.md]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { buildWidget } from "../server/edge/widget/embed/build.mjs";
import { writeBenchmarkSection } from "./lib/benchmarks-md";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: a } = parseArgs({ options: { out: { type: "string", default: path.join(ROOT, "BENCHMARKS.md") } } });
const TARGET_GZ = 8 * 1024;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-widget-bench-"));
try {
  await buildWidget(dir);
  const size = (f: string) => {
    const b = fs.readFileSync(path.join(dir, f));
    return { raw: b.length, gz: gzipSync(b, { level: 9 }).length };
  };
  const launcher = size("widget.js");
  const frame = size("widget-frame.js");
  const n = (x: number) => x.toLocaleString("en");
  const body = [
    `## Widget (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC)`,
    "",
    "What a site that embeds the assistant downloads: the launcher on every page view, the chat frame when a visitor",
    "opens it. Built by `npx tsx bench/widget-size.ts` (the same esbuild step as `npm run build:widget`), gzip level 9.",
    "",
    "| file | raw | gzipped | target |",
    "|---|---|---|---|",
    `| \`widget.js\` (launcher, shadow DOM) | ${n(launcher.raw)} B | **${n(launcher.gz)} B** | ≤ ${n(TARGET_GZ)} B gzipped: ${launcher.gz <= TARGET_GZ ? "met" : "MISSED"} |`,
    `| \`widget-frame.js\` (chat in an iframe) | ${n(frame.raw)} B | ${n(frame.gz)} B | – |`,
    "",
  ].join("\n");
  console.log(body);
  writeBenchmarkSection(a.out!, "widget", body);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
