import fs from "node:fs";
import path from "node:path";

/** The real starter GGUF (crafted by `npm run setup`); tests that need a model use it. */
export function starterModelPath(): string {
  const p = path.resolve(process.env.ATELIER_TEST_MODEL ?? "models/starter/atelier-starter.gguf");
  if (!fs.existsSync(p)) throw new Error(`Test model ${p} is missing: run \`npm run setup\` first.`);
  return p;
}
