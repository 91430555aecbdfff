// `npm start` runs this first: build the native trainer, make sure the starter model exists,
// and (re)build the Next.js app only when sources changed since the last build.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit", env: process.env });

run("npm", ["run", "--silent", "setup"]);

const buildId = path.join(root, ".next", "BUILD_ID");
const builtAt = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
const SKIP = new Set(["node_modules", ".next", "data", "build", ".cache", "tests", "bench"]);
function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith(".")) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}
const sources = ["app", "server", "public"].map((d) => path.join(root, d)).filter((d) => fs.existsSync(d));
const changed = Math.max(...sources.map(newestSource), ...["next.config.js", "package.json"].map((f) => fs.statSync(path.join(root, f)).mtimeMs));
if (changed > builtAt) {
  console.log(builtAt ? "[atelier] sources changed: rebuilding the app" : "[atelier] building the app (first start)");
  run("npx", ["next", "build"]);
}
