// The everyday path: exporting one's own chats (Markdown/JSON through the real route handler),
// new assistants' defaults, the starter's out-of-scope reply, and retrieval settings stored per
// assistant and applied to its turns.
import { eq } from "drizzle-orm";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { citedNumbers } from "@/app/(console)/chat/_components/citation-markers";
import { citedInAnswer } from "@/server/chat";
import { conversations, messages, type MessageCitation } from "@/server/db/schema";
import { collect, freshApp, signedInSession } from "../helpers/app";

let app: Awaited<ReturnType<typeof freshApp>>;
let other: Awaited<ReturnType<typeof signedInSession>>;
let assistantId = "";
let mineId = "";
let theirsId = "";

const CITATIONS: MessageCitation[] = [
  { n: 1, documentId: "d1", documentTitle: "Harbour handbook", chunkId: 1, heading: "Gate", excerpt: "The gate opens two hours before high water." },
  { n: 2, documentId: "d2", documentTitle: "Ferry timetable", chunkId: 2, heading: null, excerpt: "The ferry leaves every hour." },
];

function conversation(userId: string | null, title: string, channel: "console" | "widget" = "console"): string {
  const id = `c-${Math.random().toString(36).slice(2, 10)}`;
  app.db.insert(conversations).values({ id, assistantId, title, channel, userId }).run();
  app.db
    .insert(messages)
    .values([
      { id: `${id}-u`, conversationId: id, position: 0, role: "user", content: `When does the gate open? (${title})`, createdAt: 1_700_000_000_000 },
      {
        id: `${id}-a`,
        conversationId: id,
        position: 1,
        role: "assistant",
        content: "Two hours before high water [1]. `[2]` is code, not a citation.",
        modelLabel: "atelier-starter",
        promptTokens: 120,
        completionTokens: 14,
        citations: CITATIONS,
        createdAt: 1_700_000_001_000,
      },
    ])
    .run();
  return id;
}

async function download(query: string, who: { token: string } | null = app.admin) {
  const { GET } = await import("@/app/api/chat/export/route");
  const headers = new Headers(who ? { cookie: `atelier_session=${who.token}` } : {});
  const res = await GET(new Request(`http://localhost/api/chat/export?${query}`, { headers }));
  return { status: res.status, type: res.headers.get("content-type"), disposition: res.headers.get("content-disposition"), text: await res.text() };
}

beforeAll(async () => {
  app = await freshApp();
  assistantId = (await app.caller().assistants.list())[0]!.id;
  other = await signedInSession(app.db, "viewer");
  mineId = conversation(app.admin.user.id, "Harbour gate hours?");
  theirsId = conversation(other.user.id, "Someone else's chat");
  conversation(null, "A widget visitor", "widget");
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("chat export", () => {
  it("Markdown: my console chats only, each answer's sources marked cited or retrieved-not-cited", async () => {
    const r = await download("format=markdown");
    expect(r.status).toBe(200);
    expect(r.type).toBe("text/markdown; charset=utf-8");
    expect(r.disposition).toMatch(/^attachment; filename="atelier-chats-\d{4}-\d{2}-\d{2}\.md"$/);
    expect(r.text).toContain("## Harbour gate hours?");
    expect(r.text).not.toContain("Someone else's chat");
    expect(r.text).not.toContain("A widget visitor");
    expect(r.text).toContain("**You** · 2023-11-14T22:13:20.000Z");
    expect(r.text).toMatch(/\*\*Atelier Guide \(atelier-starter\)\*\* · 2023-11-14T22:13:21\.000Z/);
    expect(r.text).toContain("Sources cited:\n- [1] Harbour handbook — Gate: “The gate opens two hours before high water.”");
    expect(r.text).toContain("Retrieved, not cited:\n- [2] Ferry timetable: “The ferry leaves every hour.”");
  });

  it("JSON: one conversation, machine-readable, with token counts and cited flags", async () => {
    const r = await download(`format=json&conversationId=${mineId}`);
    expect(r.status).toBe(200);
    expect(r.disposition).toBe('attachment; filename="harbour-gate-hours.json"');
    const data = JSON.parse(r.text) as { user: string; conversations: { title: string; messages: Record<string, any>[] }[] };
    expect(data.user).toBe(app.admin.user.email);
    expect(data.conversations).toHaveLength(1);
    const [c] = data.conversations;
    expect(c!.title).toBe("Harbour gate hours?");
    expect(c!.messages[1]).toMatchObject({
      role: "assistant",
      model: "atelier-starter",
      tokens: { prompt: 120, completion: 14 },
      sources: [
        { n: 1, cited: true, document: "Harbour handbook" },
        { n: 2, cited: false, document: "Ferry timetable" },
      ],
    });
  });

  it("someone else's conversation reads as missing; bad format and no session are refused", async () => {
    expect((await download(`format=json&conversationId=${theirsId}`)).status).toBe(404);
    const bad = await download("format=pdf");
    expect(bad.status).toBe(400);
    expect((JSON.parse(bad.text) as { error: { message: string } }).error.message).toBe('Unknown export format "pdf"; use markdown or json.');
    expect((await download("format=json", null)).status).toBe(401);
    const theirs = await download("format=markdown", other);
    expect(theirs.text).toContain("Someone else's chat");
    expect(theirs.text).not.toContain("Harbour gate hours?");
  });

  it("the console and the export read citations the same way (hand-made table)", () => {
    const cases: [string, number[]][] = [
      ["Opens at dawn [1].", [1]],
      ["See [1][3] and [2, 4].", [1, 2, 3, 4]],
      ["`[2]` is code and so is\n```\n[3]\n```\nbut [1] is not", [1]],
      ["A link [1](https://x.y) is not a citation; [9] has no source.", []],
      ["No citations at all.", []],
    ];
    const known = new Set([1, 2, 3, 4]);
    for (const [text, expected] of cases) {
      expect([...citedNumbers(text, known)].sort()).toEqual(expected);
      expect([...citedInAnswer(text)].filter((n) => known.has(n)).sort()).toEqual(expected);
    }
  });
});

describe("defaults", () => {
  it("the starter assistant has a scope note and an out-of-scope reply; a new assistant starts with one", async () => {
    const starter = (await app.caller().assistants.list())[0]!;
    expect(starter.systemPrompt).toMatch(/You only know about Atelier: for anything else, say that you do not know\.$/);
    expect(starter.outOfScopeReply).toMatch(/only knows about Atelier/);
    const fresh = await app.caller().assistants.defaults();
    expect(fresh.outOfScopeReply).toMatch(/^Sorry, that is outside what I can help with here\./);
    expect(fresh.retrieval).toEqual({ passages: 8, minScore: 0, rerank: false });
    // the persona prompt the model sees carries the reply
    const prompt = await app.caller().assistants.previewPrompt({
      draft: { systemPrompt: starter.systemPrompt, outOfScopeReply: starter.outOfScopeReply, historyWindow: 20, sampling: starter.sampling, modelId: starter.modelId },
      messages: [{ role: "user", content: "What is the capital of France?" }],
    });
    expect(prompt.text).toContain(`reply exactly: ${starter.outOfScopeReply}`);
  });

  // Questions from no family of the starter's training corpus (server/forge/starter/corpus/qa.jsonl
  // trains refusals for capitals, weather, news, math, code, history, science, advice, writing
  // and feelings; these are other subjects), written by hand.
  const OFF_TOPIC = [
    "Who wrote Hamlet?", "What is the boiling point of water?", "Tell me a joke about cats.", "What is the best programming language?",
    "Who won the 2018 World Cup?", "How do I bake bread?", "What is the tallest mountain on Earth?", "Recommend a good book.",
    "How many legs does a spider have?", "What year did the Berlin Wall fall?", "Explain how a car engine works.", "What is the speed of light?",
    "Who painted the Mona Lisa?", "How do I change a flat tire?", "What is the population of Canada?", "Write a haiku about autumn.",
    "What's a good name for my dog?", "How do vaccines work?", "What is the stock price of Apple?", "Which is bigger, the sun or the moon?",
  ];
  const REFUSAL = /I don't know|I can't|I cannot|only know|outside what I can help/i;

  it("the starter under its defaults declines off-topic questions it never saw and still answers Atelier questions as trained", async () => {
    const { answer, assistantTurnConfig } = await import("@/server/chat");
    const { getAssistant } = await import("@/server/assistants");
    const { STARTER_SYSTEM_PROMPT } = await import("@/server/forge/starter/recipe");
    const starter = getAssistant(app.db, (await app.caller().assistants.list())[0]!.id);
    const greedy = { ...starter.sampling, temperature: 0, maxTokens: 24 };
    const base = assistantTurnConfig(app.db, starter);
    const configs = {
      defaults: { ...base, persona: { ...base.persona, sampling: greedy } },
      // what it answered before: the trained prompt alone, no scope note, no out-of-scope reply
      trainedPromptOnly: { ...base, persona: { ...base.persona, systemPrompt: STARTER_SYSTEM_PROMPT, outOfScopeReply: null, sampling: greedy } },
    };
    const topics = readFileSync("server/forge/starter/corpus/qa.jsonl", "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; q: string[]; a: string })
      .filter((t) => !t.id.startsWith("oos-"));
    const score = async (config: (typeof configs)["defaults"]) => {
      const ask = async (q: string) => {
        const done = (await collect(answer(app.db, { config, turns: [{ role: "user", content: q }] }))).at(-1);
        return done?.type === "done" ? done.text.trim() : "";
      };
      let declined = 0;
      let asTrained = 0;
      for (const q of OFF_TOPIC) if (REFUSAL.test(await ask(q))) declined++;
      for (const t of topics) if ((await ask(t.q[0]!)).slice(0, 30) === t.a.slice(0, 30)) asTrained++;
      return { declined, asTrained };
    };
    const withDefaults = await score(configs.defaults);
    const before = await score(configs.trainedPromptOnly);
    console.log(`[everyday] starter, ${OFF_TOPIC.length} unseen off-topic questions declined: ${withDefaults.declined} with its defaults, ${before.declined} with the trained prompt alone; ` +
      `${topics.length} Atelier questions answered as trained: ${withDefaults.asTrained} vs ${before.asTrained}`);
    // A 4-layer starter generalises its refusals only so far; the scope note must not make it worse at either job.
    expect(withDefaults.declined).toBeGreaterThanOrEqual(before.declined);
    expect(withDefaults.declined).toBeGreaterThanOrEqual(5);
    expect(withDefaults.asTrained).toBeGreaterThanOrEqual(before.asTrained - 3);
    expect(withDefaults.asTrained).toBeGreaterThanOrEqual(Math.floor(topics.length * 0.8));
  }, 300_000);

  it("retrieval settings are saved per assistant, audited, and a patch without them leaves them alone", async () => {
    const created = await app.caller().assistants.create({ ...(await app.caller().assistants.defaults()), name: "Harbour desk", retrieval: { passages: 3, minScore: 0.4, rerank: false } });
    expect(created.retrieval).toEqual({ passages: 3, minScore: 0.4, rerank: false });
    await app.caller().assistants.update({ id: created.id, patch: { greeting: "Ahoy" } });
    expect((await app.caller().assistants.get({ id: created.id })).retrieval).toEqual({ passages: 3, minScore: 0.4, rerank: false });
    await app.caller().assistants.update({ id: created.id, patch: { retrieval: { passages: 5, minScore: 0, rerank: true } } });
    expect((await app.caller().assistants.get({ id: created.id })).retrieval).toEqual({ passages: 5, minScore: 0, rerank: true });
    const history = await app.caller().assistants.history({ id: created.id });
    expect(history.some((h) => JSON.stringify(h.detail).includes("retrieval"))).toBe(true);
    await expect(app.caller().assistants.update({ id: created.id, patch: { retrieval: { passages: 50, minScore: 0, rerank: false } } })).rejects.toThrow(/Passages must be between 1 and 20/);
    await expect(app.caller().assistants.update({ id: created.id, patch: { retrieval: { passages: 5, minScore: 2, rerank: false } } })).rejects.toThrow(/minimum score must be between 0 and 1/);
    const row = app.db.select().from(conversations).where(eq(conversations.id, mineId)).get();
    expect(row).toBeTruthy();
  });
});
