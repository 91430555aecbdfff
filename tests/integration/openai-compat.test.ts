import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshApp } from "../helpers/app";
import { deployDefault, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";

/*
 * The OpenAI-compatible API as OpenAI's own clients expect it to behave: request parameters are
 * honoured (or refused with a 400 that names them), errors are OpenAI-shaped on every route and
 * method, and a cut answer says finish_reason "length". Checked twice: with the official `openai`
 * client, and with a raw fetch plus a hand-written SSE parser (what a client without the SDK does).
 */

let app: App;
let server: Awaited<ReturnType<typeof loopbackServer>>;
let publicId: string;
let key: string;
/** The assistant's answer cap in these tests. */
const ASSISTANT_MAX = 24;
const client = () => new OpenAI({ apiKey: key, baseURL: `${server.url}/v1`, maxRetries: 0 });
const ask = (content: string) => [{ role: "user" as const, content }];

beforeAll(async () => {
  app = await freshApp();
  let assistantId: string;
  ({ publicId, assistantId } = await deployDefault(app, [], ASSISTANT_MAX));
  ({ key } = await app.caller().deploy.createKey({ assistantId, name: "compat" }));
  server = await loopbackServer();
});

afterAll(async () => {
  await server?.close();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

/** A minimal Server-Sent Events reader: "data: ..." lines, events separated by a blank line. */
async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  const events: string[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart());
    if (data.length) events.push(data.join("\n"));
  }
  return events;
}

const post = (body: unknown, path = "/v1/chat/completions", method = "POST") =>
  fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: method === "GET" || method === "HEAD" ? undefined : JSON.stringify(body),
  });

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

describe("request parameters (official client)", () => {
  it("max_tokens and max_completion_tokens are honoured, and a cut answer says length", async () => {
    const one = await client().chat.completions.create({ model: publicId, messages: ask("What is Atelier?"), max_tokens: 1, temperature: 0 });
    expect(one.usage!.completion_tokens).toBe(1);
    expect(one.choices[0]!.finish_reason).toBe("length");
    const three = await client().chat.completions.create({ model: publicId, messages: ask("What is Atelier?"), max_completion_tokens: 3, temperature: 0 });
    expect(three.usage!.completion_tokens).toBe(3);
    expect(three.choices[0]!.finish_reason).toBe("length");
  });

  it("max_tokens above the assistant's limit is clamped to it", async () => {
    const res = await client().chat.completions.create({ model: publicId, messages: ask("Tell me everything about training."), max_tokens: 4000, temperature: 0 });
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(ASSISTANT_MAX);
  });

  it("temperature 0 and a seed reproduce an answer; stop ends it before the stop text", async () => {
    const base = { model: publicId, messages: ask("How do I train a model?"), temperature: 0, seed: 7, max_tokens: ASSISTANT_MAX };
    const a = await client().chat.completions.create(base);
    const b = await client().chat.completions.create(base);
    const full = a.choices[0]!.message.content!;
    expect(b.choices[0]!.message.content).toBe(full);
    // A word from the middle of the answer becomes the stop sequence.
    const words = full.split(/\s+/).filter((w) => w.length >= 3);
    expect(words.length).toBeGreaterThan(2);
    const stopWord = words[Math.floor(words.length / 2)]!;
    const cut = await client().chat.completions.create({ ...base, stop: [stopWord, "\u0000never"] });
    expect(cut.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(stopWord)));
    expect(cut.choices[0]!.finish_reason).toBe("stop");
    const single = await client().chat.completions.create({ ...base, stop: stopWord });
    expect(single.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(stopWord)));
  });

  it("streams with stream_options.include_usage: usage null on every chunk, then one chunk with no choices and the usage", async () => {
    const stream = await client().chat.completions.create({ model: publicId, messages: ask("What is Atelier?"), max_tokens: 3, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBe(3);
    expect(last.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + 3);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("length");
    const plain = await client().chat.completions.create({ model: publicId, messages: ask("What is Atelier?"), max_tokens: 3, temperature: 0 });
    expect(plain.usage).toEqual(last.usage);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(plain.choices[0]!.message.content);
  });

  it("refuses what it cannot honour with a 400 naming the parameter", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ n: 2 }, "n"],
      [{ temperature: 2.5 }, "temperature"],
      [{ temperature: -1 }, "temperature"],
      [{ top_p: 1.5 }, "top_p"],
      [{ top_p: 0 }, "top_p"],
      [{ max_tokens: 0 }, "max_tokens"],
      [{ stop: ["a", "b", "c", "d", "e"] }, "stop"],
      [{ tools: [{ type: "function", function: { name: "f", parameters: {} } }] }, "tools"],
      [{ logprobs: true }, "logprobs"],
      [{ response_format: { type: "json_schema", json_schema: { name: "x", schema: {} } } }, "response_format"],
    ];
    for (const [extra, param] of cases) {
      const err = await client()
        .chat.completions.create({ model: publicId, messages: ask("hi"), ...extra } as never)
        .then(() => null, (e: unknown) => e);
      expect(err, JSON.stringify(extra)).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param, JSON.stringify(extra)).toBe(param);
    }
  });

  it("a prompt over the context is a 400 context_length_exceeded (clients do not retry it), streaming or not", async () => {
    const long = "{ x: [1, 2, 3] } ".repeat(110); // under the 2,000-character message limit, over 512 tokens
    for (const stream of [false, true]) {
      const err = await client()
        .chat.completions.create({ model: publicId, messages: ask(long), stream })
        .then(async (r) => {
          if (stream) for await (const _ of r as AsyncIterable<unknown>) void _;
          return null;
        }, (e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("context_length_exceeded");
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/message is too long/);
    }
  });

  it("every message and the whole request have a size limit", async () => {
    const { env } = await import("@/server/env");
    const big = "x".repeat(env().ATELIER_MAX_MESSAGE_CHARS + 1);
    const tooLong = await post({ model: publicId, messages: [{ role: "user", content: big }, { role: "assistant", content: "ok" }, { role: "user", content: "hi" }] });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as ErrorBody).error.param).toBe("messages.0.content");
    const per = Math.floor(env().ATELIER_MAX_MESSAGE_CHARS * 0.9);
    const count = Math.ceil(env().ATELIER_MAX_REQUEST_CHARS / per) + 1;
    const many = Array.from({ length: count }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: "y".repeat(per) }));
    many.push({ role: "user", content: "hi" });
    const total = await post({ model: publicId, messages: many });
    expect(total.status).toBe(400);
    expect(((await total.json()) as ErrorBody).error.message).toMatch(/characters in all/);
  });
});

describe("wire format (raw fetch + SSE parser)", () => {
  it("streams chunks with one id, a role first, finish_reason length last, then [DONE]", async () => {
    const res = await post({ model: publicId, messages: ask("What is Atelier?"), stream: true, max_tokens: 3, temperature: 0 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { id: string; object: string; choices: Array<{ delta: { role?: string; content?: string }; finish_reason: string | null }> });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("length");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    const plain = (await (await post({ model: publicId, messages: ask("What is Atelier?"), max_tokens: 3, temperature: 0 })).json()) as { choices: Array<{ message: { content: string } }> };
    expect(text).toBe(plain.choices[0]!.message.content);
  });

  it("unknown routes and wrong methods answer OpenAI-shaped JSON errors", async () => {
    const cases: Array<[string, string, number]> = [
      ["/v1/embeddings", "POST", 404],
      ["/v1/completions", "POST", 404],
      ["/v1/nope/deeper", "GET", 404],
      ["/v1/chat/completions", "GET", 405],
      ["/v1/chat/completions", "PUT", 405],
      ["/v1/models", "POST", 405],
      ["/v1/models", "DELETE", 405],
    ];
    for (const [path, method, status] of cases) {
      const res = await post({}, path, method);
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.headers.get("content-type"), `${method} ${path}`).toMatch(/^application\/json/);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.type, `${method} ${path}`).toBe("invalid_request_error");
      expect(body.error.message.length).toBeGreaterThan(10);
    }
  });
});
