import { describe, expect, it } from "vitest";
import { parseWriterReply } from "@/server/evals/build";
import { definitionQuestion, factsFrom, headingQuestion } from "@/server/evals/candidates";
import { csvRecords, exportRows } from "@/server/evals/io";
import { judgePrompt, JUDGE_RUBRIC, parseJudgeReply } from "@/server/evals/judge";

describe("candidate phrasing", () => {
  it("turns headings into questions", () => {
    expect(headingQuestion("How to rent a berth")).toBe("How do I rent a berth?");
    expect(headingQuestion("Tides")).toBe("What should I know about tides?");
    expect(headingQuestion("Installing on Linux")).toBe("How does installing on Linux work?");
    expect(headingQuestion("Can I anchor overnight?")).toBe("Can I anchor overnight?");
    expect(headingQuestion("Why the gate closes")).toBe("Why the gate closes?");
  });

  it("finds definitions at the start of a paragraph, keeping names and articles", () => {
    expect(definitionQuestion("A berth is a place in the harbour where a boat is moored.")).toBe("What is a berth?");
    expect(definitionQuestion("Perplexity measures how surprised a model is.")).toBeNull();
    expect(definitionQuestion("Perplexity is a measure of how surprised a model is by text.")).toBe("What is perplexity?");
    expect(definitionQuestion("Atelier is a self-hosted platform for assistants.", "Install it. Then open Atelier in the browser.")).toBe("What is Atelier?");
    expect(definitionQuestion("GGUF means a single file with weights and tokenizer.")).toBe("What does GGUF mean?");
    expect(definitionQuestion("It is a very good idea to book ahead of time.")).toBeNull();
    expect(definitionQuestion("This is how the gate works every single day.")).toBeNull();
  });

  it("takes numbers with their unit and quoted terms as required facts", () => {
    expect(factsFrom('The gate opens 2 hours before high tide; call on channel 14 and say "Harbour control".')).toEqual(["2 hours", "14", "Harbour control"]);
    expect(factsFrom("No numbers here.")).toEqual([]);
  });
});

describe("model replies", () => {
  it("reads the judge's score line", () => {
    expect(parseJudgeReply("Score: 4 - correct but misses the radio channel")).toEqual({ status: "ok", score: 4, reason: "correct but misses the radio channel" });
    expect(parseJudgeReply("**Score: 2/5** — mostly wrong")).toEqual({ status: "ok", score: 2, reason: "mostly wrong" });
    expect(parseJudgeReply("5 - perfect")).toEqual({ status: "ok", score: 5, reason: "perfect" });
    expect(parseJudgeReply("I think it is fine.").status).toBe("unparsed");
    expect(parseJudgeReply("Score: 7").status).toBe("unparsed");
  });

  it("shows the fixed rubric in every judge prompt", () => {
    const p = judgePrompt({ question: "Q?", reference: null, shouldRefuse: true }, "A.");
    for (const line of JUDGE_RUBRIC) expect(p).toContain(line);
    expect(p).toContain("(none given)");
    expect(p).toContain("It should refuse (out of scope).");
  });

  it("reads the generator's question and answer", () => {
    expect(parseWriterReply("Question: When does the gate open?\nAnswer: Two hours before high tide.")).toEqual({ question: "When does the gate open?", answer: "Two hours before high tide." });
    expect(parseWriterReply("question:  Why does it close? \nanswer: Because.\n\nExtra text")).toEqual({ question: "Why does it close?", answer: "Because." });
    expect(parseWriterReply("When does it open?")).toBeNull();
  });
});

describe("eval files", () => {
  it("reads CSV records with the line each one starts on (quoted newlines included)", () => {
    const csv = 'question,answer\n"Multi\nline?","yes, ""quoted"""\nplain,row\n\nlast,one';
    expect(csvRecords(csv)).toEqual([
      { line: 1, cells: ["question", "answer"] },
      { line: 2, cells: ["Multi\nline?", 'yes, "quoted"'] },
      { line: 4, cells: ["plain", "row"] },
      { line: 6, cells: ["last", "one"] },
    ]);
    expect(csvRecords('question\n"never closed')).toEqual({ line: 2, message: 'a quoted field is never closed (missing ")' });
  });

  it("exports the shape it imports (and the studio reads question/answer)", () => {
    const rows = [{ question: "Q1?", reference: "A, with comma", facts: ["x", "/y;z/i"], expectedSource: { kind: "document" as const, id: "d1", title: "Doc" }, shouldRefuse: false }];
    expect(exportRows(rows, "jsonl")).toBe('{"question":"Q1?","answer":"A, with comma","facts":["x","/y;z/i"],"expected_source":"Doc","should_refuse":false}\n');
    expect(exportRows(rows, "csv")).toBe('question,answer,facts,expected_source,should_refuse\nQ1?,"A, with comma","[""x"",""/y;z/i""]",Doc,false\n');
  });
});
