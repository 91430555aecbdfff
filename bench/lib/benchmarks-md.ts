import fs from "node:fs";

/**
 * Replaces the block between `<!-- NAME:start -->` and `<!-- NAME:end -->` in a Markdown file (appends it
 * when absent): each benchmark owns its block of BENCHMARKS.md and rewrites it with what it just measured.
 */
export function writeBenchmarkSection(file: string, name: string, body: string): void {
  const START = `<!-- ${name}:start -->`, END = `<!-- ${name}:end -->`;
  let md = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const wrapped = `${START}\n${body.trimEnd()}\n${END}`;
  md = md.includes(START) && md.includes(END)
    ? md.slice(0, md.indexOf(START)) + wrapped + md.slice(md.indexOf(END) + END.length)
    : md.trimEnd() + "\n\n" + wrapped + "\n";
  fs.writeFileSync(file, md);
}
