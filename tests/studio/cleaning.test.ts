// Cleaning and ingest rules (pure functions; no model needed).
import { describe, expect, it } from "vitest";
import { cleanRecords, luhnValid, scrubPii } from "@/server/studio/cleaning";
import { passagesOf } from "@/server/forge";
import { parseUpload } from "@/server/studio/ingest";
import { DocumentParseError } from "@/server/documents";
import { ALPACA_JSON, NOTES_MD, QA_CSV } from "./corpus";

const enc = (s: string) => new TextEncoder().encode(s);
const OPTS = { dedupe: true, nearDedupe: true, scrubPii: true, minChars: 0, maxChars: 100_000, heldOutFraction: 0.2 };

describe("PII scrubbing", () => {
  it("replaces e-mails, phones, Luhn-valid cards and IPv4/IPv6, and counts them", () => {
    const counts = { email: 0, phone: 0, card: 0, ip: 0 };
    const out = scrubPii(
      "Mail a.b+c@example.co.uk, call +33 1 42 68 53 00 or (415) 555-0134. Card 4111-1111-1111-1111, order 1234 5678 9012 3456. Hosts 10.0.0.1 and 2001:db8::8a2e:370:7334. Date 2024-01-15, time 12:30:45, version 1.2.3.",
      counts,
    );
    expect(counts).toEqual({ email: 1, phone: 2, card: 1, ip: 2 });
    expect(out).toContain("Mail [EMAIL], call [PHONE] or [PHONE].");
    expect(out).toContain("Card [CARD], order 1234 5678 9012 3456.");
    expect(out).toContain("Hosts [IP] and [IP].");
    expect(out).toContain("Date 2024-01-15, time 12:30:45, version 1.2.3.");
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("1234567890123456")).toBe(false);
  });
});

describe("cleanRecords", () => {
  it("removes exact and near duplicates, filters lengths, splits deterministically", () => {
    const base = "The Quillfeather fuser warms to 190 degrees before the first page and a cold fuser smears the toner on thick paper.";
    const recs = [
      { kind: "text" as const, text: base },
      { kind: "text" as const, text: base.toUpperCase() },
      { kind: "text" as const, text: base.replace("thick", "heavy") },
      { kind: "text" as const, text: "short" },
      ...Array.from({ length: 20 }, (_, i) => ({ kind: "text" as const, text: `Passage ${i} about spool gear ${i * 7} and feed roller maintenance in winter ${i}.` })),
    ];
    const r = cleanRecords(recs, { ...OPTS, minChars: 10 });
    expect(r.effect).toMatchObject({ exactDuplicates: 1, nearDuplicates: 1, tooShort: 1, tooLong: 0 });
    expect(r.kept).toHaveLength(21);
    expect(r.train.length + r.heldOut.length).toBe(21);
    expect(r.heldOut.length).toBeGreaterThan(0);
    const again = cleanRecords(recs, { ...OPTS, minChars: 10 });
    expect(again.heldOut).toEqual(r.heldOut);
    const off = cleanRecords(recs, { ...OPTS, dedupe: false, nearDedupe: false });
    expect(off.kept).toHaveLength(24);
  });
});

describe("parseUpload", () => {
  it("reads OpenAI messages, Alpaca, CSV question/answer and text passages", async () => {
    const jsonl = await parseUpload({ name: "a.jsonl", bytes: enc('{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}\n{"question":"Q?","answer":"A."}\n') }, 1e6);
    expect(jsonl.records).toEqual([
      { kind: "chat", system: "Be brief.", messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" }] },
      { kind: "chat", messages: [{ role: "user", content: "Q?" }, { role: "assistant", content: "A." }] },
    ]);
    const alpaca = await parseUpload({ name: "a.json", bytes: enc(ALPACA_JSON) }, 1e6);
    expect(alpaca.records[1]).toEqual({ kind: "chat", messages: [{ role: "user", content: "Translate the code into a part.\n\nQX-107" }, { role: "assistant", content: "The platen." }] });
    const csv = await parseUpload({ name: "qa.csv", bytes: enc(QA_CSV) }, 1e6);
    expect(csv.records).toHaveLength(2);
    expect(csv.records[0]).toMatchObject({ kind: "chat", messages: [{ content: "What is QX-114?" }, { content: "The toner hopper is jammed." }] });
    const md = await parseUpload({ name: "notes.md", bytes: enc(NOTES_MD) }, 1e6);
    expect(md.records.length).toBe(6);
    expect(passagesOf("a\n\nb")).toEqual(["a\n\nb"]);
  });

  it("names the file and line of malformed input", async () => {
    const bad = async (name: string, text: string | Uint8Array) => {
      try {
        await parseUpload({ name, bytes: typeof text === "string" ? enc(text) : text }, 1000);
      } catch (err) {
        expect(err).toBeInstanceOf(DocumentParseError);
        return { line: (err as DocumentParseError).line, message: (err as Error).message };
      }
      throw new Error("expected an error");
    };
    expect(await bad("x.jsonl", '{"question":"a","answer":"b"}\n\n{"question": oops}\n')).toMatchObject({ line: 3, message: expect.stringContaining("invalid JSON") });
    expect(await bad("x.jsonl", '{"messages":[{"role":"assistant","content":"hi"}]}\n')).toMatchObject({ line: 1, message: expect.stringContaining("should be a user turn") });
    expect(await bad("x.jsonl", '{"foo":1}\n')).toMatchObject({ line: 1, message: expect.stringContaining("unrecognised record") });
    expect(await bad("x.csv", "question,answer\nq1,a1\nq2\n")).toMatchObject({ line: 3 });
    expect((await bad("x.csv", "name,age\nbob,3\n")).message).toMatch(/question and an answer column/);
    expect((await bad("x.txt", "")).message).toMatch(/empty/);
    expect((await bad("x.txt", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]))).message).toMatch(/executable/);
    expect((await bad("x.txt", "y".repeat(2000))).message).toMatch(/over the .* limit/);
    expect((await bad("x.exe", "MZ")).message).toMatch(/not supported/);
  });
});
