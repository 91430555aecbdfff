// Inference nodes over loopback, real processes: this test process is the central Atelier (real
// SQLite, real route handlers behind a real HTTP server); two `atelier node` processes serve the
// starter model, each behind a fault-injecting TCP proxy. Turns from the console, the widget and
// /v1 are routed to the nodes; faults before the first token are retried elsewhere, a cut stream
// ends interrupted, the circuit opens and closes, a trained LoRA activated on the assistant is
// downloaded by the node (sha256-checked, a corrupted download refetched) and served.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistantCollections, assistants, messages } from "@/server/db/schema";
import { PEER_HEADER, peerStamp } from "@/server/edge/peer";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";
import { deployDefault, readNdjson } from "../widget/helpers";
import { centralServer, faultProxy, startNodeProcess, tinyLora, waitFor, type NodeProcess } from "./helpers";

const TOKEN_A = "node-token-aaaaaaaaaaaa";
const TOKEN_B = "node-token-bbbbbbbbbbbb";
const SITE = "https://shop.example";

let app: Awaited<ReturnType<typeof freshApp>>;
let central: Awaited<ReturnType<typeof centralServer>>;
let centralProxy: Awaited<ReturnType<typeof faultProxy>>;
let nodeA: NodeProcess;
let nodeB: NodeProcess;
let proxyA: Awaited<ReturnType<typeof faultProxy>>;
let proxyB: Awaited<ReturnType<typeof faultProxy>>;
let starterId: string;
let assistantId: string;
let publicId: string;
let apiKey: string;
let nodeAId: string;
let nodeBId: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-nodes-test-"));

const caller = () => app.caller();
const completions = (p: Awaited<ReturnType<typeof faultProxy>>) => p.count(/^POST \/v1\/chat\/completions /);

async function consoleTurn(content: string, conversationId?: string) {
  const conv = conversationId ?? (await caller().conversations.create({ assistantId })).id;
  const events = await collect(await caller().chat.send({ kind: "send", conversationId: conv, content }));
  const answer = app.db.select().from(messages).where(eq(messages.conversationId, conv)).all().filter((m) => m.role === "assistant").at(-1)!;
  return { conversationId: conv, events, answer };
}

/** The earlier faults may have opened node A's circuit: wait out the cooldown, re-probe, answer once. */
async function closeCircuit() {
  for (let i = 0; i < 6; i++) {
    const node = (await caller().nodes.list()).nodes.find((n) => n.id === nodeAId)!;
    if (node.circuit.state === "closed") return;
    if (node.circuit.openUntil) await new Promise((r) => setTimeout(r, Math.max(0, node.circuit.openUntil! - Date.now()) + 50));
    await caller().nodes.check({ id: nodeAId });
    await consoleTurn("warm up");
  }
  throw new Error("node A's circuit did not close");
}

beforeAll(async () => {
  app = await freshApp({ ATELIER_NODE_BREAKER_FAILURES: "2", ATELIER_NODE_BREAKER_COOLDOWN_S: "1", ATELIER_NODE_HEALTH_S: "3600", ATELIER_NODE_TIMEOUT_S: "30" });
  central = await centralServer();
  // Nodes download model versions from the central through this proxy (it can corrupt or cut a download).
  centralProxy = await faultProxy(central.url);
  process.env.ATELIER_PUBLIC_URL = centralProxy.url;
  (await import("@/server/env")).resetEnvForTests();

  // Node B's "starter" is a different file under the same name (one weight byte changed).
  const impostor = path.join(tmp, "impostor.gguf");
  const bytes = fs.readFileSync(starterModelPath());
  bytes[bytes.length - 3]! ^= 0x01;
  fs.writeFileSync(impostor, bytes);
  [nodeA, nodeB] = await Promise.all([
    startNodeProcess({ token: TOKEN_A, args: ["--model", `starter=${starterModelPath()}`] }),
    startNodeProcess({ token: TOKEN_B, args: ["--model", `starter=${impostor}`, "--model", `same-starter=${starterModelPath()}`] }),
  ]);
  proxyA = await faultProxy(nodeA.url);
  proxyB = await faultProxy(nodeB.url);

  const a = app.db.select().from(assistants).get()!;
  assistantId = a.id;
  starterId = a.modelId!;
  app.db.update(assistants).set({ sampling: { ...a.sampling, maxTokens: 40, temperature: 0 } }).where(eq(assistants.id, a.id)).run();
  ({ publicId } = await deployDefault(app, [SITE], 40));
  ({ key: apiKey } = await caller().deploy.createKey({ assistantId, name: "nodes" }));
});

afterAll(async () => {
  await Promise.all([nodeA?.kill("SIGTERM"), nodeB?.kill("SIGTERM")]);
  await Promise.all([proxyA?.close(), proxyB?.close(), centralProxy?.close(), central?.close()]);
  const { stopNodeHealth } = await import("@/server/nodes");
  stopNodeHealth(app.db);
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
  delete process.env.ATELIER_PUBLIC_URL;
});

describe("registration refuses what cannot serve", () => {
  it("an unreachable endpoint, with the reason", async () => {
    const closed = await new Promise<number>((r) => {
      const s = http.createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => r(port));
      });
    });
    await expect(caller().nodes.register({ name: "gone", url: `http://127.0.0.1:${closed}`, kind: "openai" })).rejects.toThrow(/cannot reach 127\.0\.0\.1:\d+: connection refused/);
  });

  it("a wrong key", async () => {
    await expect(caller().nodes.register({ name: "a", url: proxyA.url, kind: "atelier", apiKey: "wrong-token-wrong-token" })).rejects.toThrow(/refused the key \(HTTP 401\)/);
  });

  it("an endpoint that is not OpenAI-compatible", async () => {
    const html = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>hello</html>"));
    await new Promise<void>((r) => html.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(html.address() as { port: number }).port}`;
    try {
      await expect(caller().nodes.register({ name: "web", url, kind: "openai" })).rejects.toThrow(/not an OpenAI-compatible endpoint/);
      await expect(caller().nodes.register({ name: "web", url: "ftp://example.com", kind: "openai" })).rejects.toThrow(/must start with http/);
    } finally {
      html.close();
    }
  });

  it("an Atelier node without its token", async () => {
    await expect(caller().nodes.register({ name: "a", url: proxyA.url, kind: "atelier" })).rejects.toThrow(/needs its node token/);
  });

  it("a node serving a different model under the same name (sha256 check)", async () => {
    const b = await caller().nodes.register({ name: "node B", url: proxyB.url, kind: "atelier", apiKey: TOKEN_B });
    nodeBId = b.id;
    expect(b.health?.ok).toBe(true);
    expect(b.health?.models.sort()).toEqual(["same-starter", "starter"]);
    await expect(caller().nodes.assign({ nodeId: b.id, modelId: starterId, remoteName: "starter" })).rejects.toThrow(/serves a different model as "starter": its file has sha256/);
    const view = await caller().nodes.assign({ nodeId: b.id, modelId: starterId, remoteName: "same-starter" });
    expect(view.routes).toMatchObject([{ modelId: starterId, remoteName: "same-starter", state: "ready" }]);
  });
});

describe("turns routed to nodes", () => {
  beforeAll(async () => {
    const a = await caller().nodes.register({ name: "node A", url: proxyA.url, kind: "atelier", apiKey: TOKEN_A });
    nodeAId = a.id;
    expect(a.health).toMatchObject({ ok: true, slots: { total: 2, busy: 0 } });
    await caller().nodes.assign({ nodeId: a.id, modelId: starterId, remoteName: "starter" });
    // Served by the nodes only: a turn that reaches no node fails instead of quietly answering here.
    await caller().nodes.setLocal({ modelId: starterId, local: false });
  });

  it("console, widget, /v1 and Try it turns all go to the nodes and are answered", async () => {
    const before = completions(proxyA) + completions(proxyB);
    const { events, answer } = await consoleTurn("What is Atelier?");
    expect(events.at(-1)?.type).toBe("done");
    expect(answer.status).toBe("complete");
    expect(answer.content.length).toBeGreaterThan(0);
    expect(answer.completionTokens).toBeGreaterThan(0);

    const route = await import("@/app/api/widget/[publicId]/[action]/route");
    const res = await route.POST(
      new Request(`http://atelier.test/api/widget/${publicId}/chat`, {
        method: "POST",
        headers: { origin: SITE, "content-type": "application/json", [PEER_HEADER]: peerStamp("203.0.113.9") },
        body: JSON.stringify({ visitorId: "visitor-nodes-1", content: "How do I train?" }),
      }),
      { params: Promise.resolve({ publicId, action: "chat" }) },
    );
    const widgetEvents = await readNdjson(res);
    expect(widgetEvents.at(-1)?.type).toBe("done");

    const { default: OpenAI } = await import("openai");
    const client = new OpenAI({ apiKey, baseURL: `${central.url}/v1` });
    const stream = await client.chat.completions.create({ model: publicId, messages: [{ role: "user", content: "Hello" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);

    // Try it (the same answer() evaluations and A/B arms run), with the assistant's unsaved draft
    const a = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!;
    const tried = await collect(
      await caller().assistants.tryIt({
        draft: { systemPrompt: a.systemPrompt, outOfScopeReply: a.outOfScopeReply, historyWindow: a.historyWindow, sampling: a.sampling, modelId: starterId },
        messages: [{ role: "user", content: "Hello from the draft" }],
      }),
    );
    expect(tried.at(-1)).toMatchObject({ type: "done", aborted: false });
    expect(completions(proxyA) + completions(proxyB) - before).toBe(4);
  });

  it("citations: sources are retrieved here, sent to the node in the system prompt, and stored with the routed answer", async () => {
    const question = "When does the harbour gate open at high tide?";
    const before = completions(proxyA) + completions(proxyB);
    const plain = await consoleTurn(question);
    const col = await caller().knowledge.createCollection({ name: "Harbour" });
    const text = "# Harbour handbook\n\n## Tides\n\nThe harbour gate opens two hours before high tide and closes one hour after it.";
    const up = await collect(await caller().knowledge.upload({ collectionId: col.id, fileName: "harbour.md", data: Buffer.from(text).toString("base64") }));
    expect(up.at(-1)?.type).toBe("done");
    app.db.insert(assistantCollections).values({ assistantId, collectionId: col.id }).run();
    try {
      const { events, answer } = await consoleTurn(question);
      const cited = events.find((e) => e.type === "citations") as { citations: Array<{ excerpt: string }> } | undefined;
      expect(cited?.citations[0]?.excerpt).toContain("harbour gate opens two hours");
      expect(answer.status).toBe("complete");
      expect(answer.citations?.[0]?.excerpt).toContain("harbour gate opens two hours");
      // prompt_tokens as the node counted them: the sources went there with the question
      expect(answer.promptTokens!).toBeGreaterThan(plain.answer.promptTokens! + 20);
      expect(completions(proxyA) + completions(proxyB) - before).toBe(2);
    } finally {
      app.db.delete(assistantCollections).where(eq(assistantCollections.collectionId, col.id)).run();
    }
  });

  it("spreads concurrent turns over both nodes (least loaded)", async () => {
    const a0 = completions(proxyA);
    const b0 = completions(proxyB);
    await Promise.all([0, 1, 2, 3].map((i) => consoleTurn(`Question number ${i}?`)));
    expect(completions(proxyA) - a0).toBe(2);
    expect(completions(proxyB) - b0).toBe(2);
  });

  it("keeps a conversation on its node (sticky)", async () => {
    const first = await consoleTurn("Tell me about assistants.");
    const onA = completions(proxyA);
    const onB = completions(proxyB);
    await consoleTurn("And about knowledge?", first.conversationId);
    await consoleTurn("And training?", first.conversationId);
    const movedA = completions(proxyA) - onA;
    const movedB = completions(proxyB) - onB;
    expect([movedA, movedB].sort()).toEqual([0, 2]);
  });

  it("stop: a routed answer aborted by its client ends interrupted, and the node's slot is freed", async () => {
    const conv = (await caller().conversations.create({ assistantId })).id;
    const controller = new AbortController();
    const stream = await app.caller(controller.signal).chat.send({ kind: "send", conversationId: conv, content: "Tell me a long story about the studio." });
    try {
      for await (const ev of stream) if (ev.type === "token") controller.abort();
    } catch {
      // the caller sees its own abort
    }
    const answer = await waitFor("the answer to settle", () => {
      const m = app.db.select().from(messages).where(eq(messages.conversationId, conv)).all().find((x) => x.role === "assistant");
      return m && m.status !== "streaming" ? m : null;
    });
    expect(answer.status).toBe("interrupted");
    expect(answer.error).toBe("Stopped before the answer was complete.");
    await waitFor("the node to report no busy slot", async () => {
      await caller().nodes.check({});
      const nodes = (await caller().nodes.list()).nodes;
      return nodes.every((n) => (n.health?.slots?.busy ?? 0) === 0 && n.circuit.outstanding === 0 && n.circuit.state === "closed");
    }, 15_000);
  });

  it("a node killed before the first token: the turn is retried on the other node", async () => {
    // Put a conversation on node B (node A disabled meanwhile), then kill node B's process for real.
    await caller().nodes.update({ id: nodeAId, enabled: false });
    const b0 = completions(proxyB);
    const conv = (await consoleTurn("Which node answers?")).conversationId;
    expect(completions(proxyB) - b0).toBe(1);
    await caller().nodes.update({ id: nodeAId, enabled: true });
    await nodeB.kill("SIGKILL");
    const a0 = completions(proxyA);
    const { answer } = await consoleTurn("Still there?", conv);
    expect(answer.status).toBe("complete");
    expect(answer.content.length).toBeGreaterThan(0);
    expect(completions(proxyA) - a0).toBe(1);
    // the dead node is off the routes until it comes back: remove it (its process is gone)
    await caller().nodes.remove({ id: nodeBId });
  });

  it("a stream cut after the first token ends interrupted with the partial text", async () => {
    proxyA.setMode({ kind: "cut-after-text" });
    try {
      const { events, answer } = await consoleTurn("Tell me a long story about Atelier.");
      expect(events.some((e) => e.type === "token"), JSON.stringify(events.slice(-2)) + proxyA.requests().slice(-3).join("|")).toBe(true);
      expect(events.at(-1)?.type).toBe("error");
      expect(answer.status).toBe("interrupted");
      expect(answer.content.length).toBeGreaterThan(0);
      expect(answer.error).toMatch(/cut/);
    } finally {
      proxyA.setMode({ kind: "pass" });
    }
  });

  it("with no node reachable and no local serving, the turn fails with the reason", async () => {
    proxyA.setMode({ kind: "reset" });
    try {
      const { answer } = await consoleTurn("Anyone?");
      expect(answer.status).toBe("error");
      expect(answer.error).toMatch(/No inference node could answer/);
    } finally {
      proxyA.setMode({ kind: "pass" });
      await caller().nodes.check({ id: nodeAId });
    }
  });

  it("the circuit opens after repeated failures, skips the node, re-probes and closes", async () => {
    await caller().nodes.setLocal({ modelId: starterId, local: true });
    await closeCircuit();
    proxyA.setMode({ kind: "reset" });
    const a0 = completions(proxyA);
    for (const q of ["one?", "two?"]) expect((await consoleTurn(q)).answer.status).toBe("complete"); // answered locally
    expect(completions(proxyA) - a0, JSON.stringify((await caller().nodes.list()).nodes) + proxyA.requests().slice(-5).join("|")).toBe(2);
    let node = (await caller().nodes.list()).nodes.find((n) => n.id === nodeAId)!;
    expect(node.circuit.state).toBe("open");
    // open: the node is not even tried
    expect((await consoleTurn("three?")).answer.status).toBe("complete");
    expect(completions(proxyA) - a0).toBe(2);
    // node back; after the cooldown the health probe half-opens the circuit and a good turn closes it
    proxyA.setMode({ kind: "pass" });
    await new Promise((r) => setTimeout(r, 1100));
    await caller().nodes.check({ id: nodeAId });
    node = (await caller().nodes.list()).nodes.find((n) => n.id === nodeAId)!;
    expect(node.circuit.state).toBe("half-open");
    const a1 = completions(proxyA);
    expect((await consoleTurn("four?")).answer.status).toBe("complete");
    expect(completions(proxyA) - a1).toBe(1);
    node = (await caller().nodes.list()).nodes.find((n) => n.id === nodeAId)!;
    expect(node.circuit.state).toBe("closed");
  });
});

describe("a trained version reaches the node", () => {
  it("activating a LoRA version: the node downloads it (a corrupted download is refetched) and serves it", async () => {
    const adapter = await tinyLora();
    const lora = await caller().models.addLocal({ path: adapter, name: "bananas", baseModelId: starterId });
    const plan = await caller().nodes.activationPlan({ currentModelId: starterId, modelId: lora.id });
    expect(plan).toMatchObject([{ nodeId: nodeAId, ok: true, already: false }]);
    expect(plan[0]!.how).toMatch(/downloads the adapter/);

    // the base is already on node A (same sha256): only the adapter travels. On the way its first
    // download breaks after 20 kB (the node continues with a Range request), and that continuation
    // has one byte flipped (the sha256 differs: discarded and fetched again)
    centralProxy.setMode([{ kind: "cut-once-after", bytes: 20_000 }, { kind: "corrupt-once", offset: 1000 }]);
    const artifacts0 = centralProxy.count(/^GET \/api\/nodes\/artifacts\//);
    const activated = await caller().studio.versions.activate({ assistantId, modelId: lora.id });
    expect(activated.nodes, JSON.stringify(activated.nodes)).toMatchObject([{ nodeId: nodeAId, ok: true }]);
    await waitFor("the adapter on node A", async () => {
      await caller().nodes.check({ id: nodeAId });
      const n = (await caller().nodes.list()).nodes.find((x) => x.id === nodeAId)!;
      const r = n.routes.find((x) => x.modelId === lora.id);
      if (r?.state === "error") throw new Error(r.detail ?? "sync failed");
      return r?.state === "ready";
    });
    expect(centralProxy.count(/^GET \/api\/nodes\/artifacts\/[^/]+\/model\?/) - artifacts0).toBe(3);
    // (the node's stdout can trail its HTTP answers)
    await waitFor("the node's download log", () => /stopped at \d+ of \d+ bytes.*; continuing/.test(nodeA.log()) && /sha256 [0-9a-f]{12} differs .*discarded, downloading again/.test(nodeA.log()), 10_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}; the node printed:\n${nodeA.log()}`);
      },
    );

    // greedy answers: the node's LoRA answer equals this process's own engine on the same adapter
    const a0 = completions(proxyA);
    const remote = await consoleTurn("What is the favourite fruit of the guide?");
    expect(completions(proxyA) - a0).toBe(1);
    expect(proxyA.requests().at(-1)).toMatch(/^POST \/v1\/chat\/completions/);
    expect(remote.answer.status).toBe("complete");
    await caller().nodes.unassign({ nodeId: nodeAId, modelId: lora.id });
    const local = await consoleTurn("What is the favourite fruit of the guide?");
    expect(completions(proxyA) - a0).toBe(1);
    expect(remote.answer.content).toBe(local.answer.content);
    // and the adapter changed the answer (it is not the base model's)
    const { answer } = await import("@/server/chat");
    const a = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!;
    const base = await collect(
      answer(app.db, {
        config: { modelId: starterId, name: "base", persona: { systemPrompt: a.systemPrompt, outOfScopeReply: a.outOfScopeReply, historyWindow: a.historyWindow, sampling: a.sampling }, collectionIds: [] },
        turns: [{ role: "user", content: "What is the favourite fruit of the guide?" }],
      }),
    );
    const baseText = (base.at(-1) as { text: string }).text;
    expect(baseText).not.toBe(local.answer.content);
  });
});
