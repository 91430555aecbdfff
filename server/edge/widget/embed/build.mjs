// Builds the embeddable widget: public/widget.js (the launcher sites paste) and
// public/widget-frame.js (the chat inside the iframe). `npm run build:widget`; runs in setup and
// before `next build`.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "../../../..");
const ENTRIES = { "widget.js": "launcher.ts", "widget-frame.js": "frame.ts" };

/** @param {string} outDir */
export async function buildWidget(outDir = path.join(root, "public")) {
  for (const [out, entry] of Object.entries(ENTRIES)) {
    const result = await build({
      entryPoints: [path.join(import.meta.dirname, entry)],
      bundle: true,
      minify: true,
      format: "iife",
      target: ["es2020"],
      legalComments: "none",
      logLevel: "warning",
      write: false,
    });
    const file = path.join(outDir, out);
    const code = result.outputFiles[0].contents;
    // Unchanged output keeps its mtime, so `npm start` does not think the app needs a rebuild.
    if (fs.existsSync(file) && Buffer.compare(fs.readFileSync(file), code) === 0) continue;
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(file, code);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await buildWidget();
