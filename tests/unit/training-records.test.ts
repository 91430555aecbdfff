// One training-record parser for the studio and the CLI: the CLI's --data files accept the same
// shapes as a studio upload (OpenAI messages, Alpaca, question/answer, CSV), and a bad record is
// named by file and line in both.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCorpusFile } from "@/server/forge";
import { parseUpload } from "@/server/studio/ingest";

const dir = mkdtempSync(path.join(os.tmpdir(), "atelier-records-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const QA = [
  { role: "user", content: "What is Atelier?" },
  { role: "assistant", content: "A self-hosted assistant platform." },
];

describe("the CLI reads the studio's record shapes", () => {
  it("Alpaca JSON Lines: instruction + input form the question", () => {
    const p = file("alpaca.jsonl", '{"instruction":"Translate","input":"bonjour","output":"hello"}\n{"instruction":"What is Atelier?","output":"A self-hosted assistant platform."}\n');
    expect(loadCorpusFile(p)).toEqual({
      documents: [],
      chats: [
        { messages: [{ role: "user", content: "Translate\n\nbonjour" }, { role: "assistant", content: "hello" }] },
        { messages: QA },
      ],
    });
  });

  it("CSV with question,answer (and a system column)", () => {
    const p = file("qa.csv", 'question,answer,system\n"What is Atelier?",A self-hosted assistant platform.,Be brief.\n');
    expect(loadCorpusFile(p).chats).toEqual([{ system: "Be brief.", messages: QA }]);
  });

  it("a JSON array of OpenAI chat records, and {text} passages as documents", () => {
    const p = file("mixed.json", JSON.stringify([{ messages: QA }, { text: "Atelier trains models." }]));
    const { documents, chats } = loadCorpusFile(p);
    expect(chats).toEqual([{ messages: QA }]);
    expect(documents.map((d) => d.text)).toEqual(["Atelier trains models."]);
  });

  it("names the file and line of a bad record, as a BAD_CONFIG error", () => {
    const p = file("bad.jsonl", '{"question":"q","answer":"a"}\n{"instruction":"no output"}\n');
    expect(() => loadCorpusFile(p)).toThrow(/bad\.jsonl:2: unrecognised record/);
    expect(() => loadCorpusFile(p)).toThrow(expect.objectContaining({ code: "BAD_CONFIG" }));
    const csv = file("bad.csv", "question,answer\nonly one column\n");
    expect(() => loadCorpusFile(csv)).toThrow(/bad\.csv:2: row 2 has 1 columns, the header has 2/);
  });

  it("keeps other files as raw text", () => {
    const p = file("notes.md", "# Notes\n\nAtelier runs on your machine.\n");
    expect(loadCorpusFile(p)).toEqual({ documents: [{ text: "# Notes\n\nAtelier runs on your machine.\n", id: "notes.md" }], chats: [] });
  });
});

describe("the studio reads the same file the same way", () => {
  it("Alpaca JSON Lines become the same chat records", async () => {
    const bytes = new TextEncoder().encode('{"instruction":"What is Atelier?","output":"A self-hosted assistant platform."}\n');
    const parsed = await parseUpload({ name: "alpaca.jsonl", bytes }, 1024 * 1024);
    expect(parsed.records).toEqual([{ kind: "chat", messages: QA }]);
  });
});
