import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistants, messages, models } from "@/server/db/schema";
import { pickArm, readingOf, twoProportionP, wilson } from "@/server/loop";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";
import { deployDefault, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";
import { widgetChat } from "./helpers";

// A/B on live traffic through the widget over real HTTP, with the starter model on both arms
// (registered twice, as two versions).
let app: App;
let server: Awaited<ReturnType<typeof loopbackServer>>;
let publicId: string;
let assistantId: string;
let starterId: string;
let otherId: string;

beforeAll(async () => {
  app = await freshApp();
  ({ publicId, assistantId } = await deployDefault(app, ["https://shop.example"], 2));
  await app.caller().deploy.update({ assistantId, patch: { ipPerMinuteLimit: 0, visitorDailyLimit: 0, dailyLimit: 0 } });
  starterId = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!.modelId!;
  otherId = (await app.caller().models.addLocal({ path: starterModelPath(), name: "starter, second version" })).id;
  server = await loopbackServer();
});

afterAll(async () => {
  await server?.close();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("statistics (hand-computed references)", () => {
  it("Wilson interval and the two-proportion test", () => {
    // 8 of 10: centre (0.8 + 1.920729/10) / 1.384146 = 0.71676, half 0.22653 → [0.4902, 0.9433]
    const w = wilson(8, 10)!;
    expect(w.low).toBeCloseTo(0.4902, 3);
    expect(w.high).toBeCloseTo(0.9433, 3);
    expect(wilson(0, 0)).toBeNull();
    // 61/100 vs 48/100: pooled 0.545, se 0.070427, z 1.8459 → p = 0.0649
    expect(twoProportionP(61, 100, 48, 100)!).toBeCloseTo(0.0649, 3);
    expect(readingOf([{ label: "A", ratings: 20, thumbsUp: 10 }, { label: "B", ratings: 20, thumbsUp: 12 }])).toMatch(/^Arm B is ahead, 60% vs 50% thumbs-up, not yet significant at 40 ratings/);
    expect(readingOf([{ label: "A", ratings: 0, thumbsUp: 0 }, { label: "B", ratings: 0, thumbsUp: 0 }])).toBe("No ratings yet: nothing to compare.");
  });

  it("assignment follows the weights", () => {
    const arms = [{ id: "a", weight: 20 }, { id: "b", weight: 80 }];
    let a = 0;
    for (let i = 0; i < 2000; i++) if (pickArm("exp", `visitor:anon:${i}`, arms)!.id === "a") a++;
    expect(a / 2000).toBeGreaterThan(0.17);
    expect(a / 2000).toBeLessThan(0.23);
  });
});

describe("experiments", () => {
  it("refuses a deleted version, an incompatible one (different tokenizer) and a split that is not 100%", async () => {
    const caller = app.caller();
    await expect(caller.loop.experiments.create({ assistantId, arms: [{ modelId: starterId, weight: 50 }, { modelId: "deleted-version", weight: 50 }] })).rejects.toThrow(/does not exist \(it may have been deleted\)/);
    const foreign = app.db
      .insert(models)
      .values({ id: "foreign-model", name: "Other family", kind: "base", source: "hf:other/model", filePath: starterModelPath(), architecture: "gpt2", parameters: 124_000_000 })
      .returning()
      .get();
    await expect(caller.loop.experiments.create({ assistantId, arms: [{ modelId: starterId, weight: 50 }, { modelId: foreign.id, weight: 50 }] })).rejects.toThrow(/different tokenizer/);
    await expect(caller.loop.experiments.create({ assistantId, arms: [{ modelId: starterId, weight: 50 }, { modelId: otherId, weight: 40 }] })).rejects.toThrow(/add up to 100%; it adds up to 90%/);
  });

  it("50/50 over 200 visitors: split within ±10%, sticky per visitor, every answer tagged; promote, then rollback", async () => {
    const caller = app.caller();
    const exp = await caller.loop.experiments.create({ assistantId, arms: [{ modelId: starterId, weight: 50 }, { modelId: otherId, weight: 50 }] });
    const [armA, armB] = exp.arms;
    await expect(caller.loop.experiments.create({ assistantId, arms: [{ modelId: starterId, weight: 50 }, { modelId: otherId, weight: 50 }] })).rejects.toThrow(/already has an experiment running/);

    const visitors = Array.from({ length: 200 }, (_, i) => `visitor-ab-${String(i).padStart(4, "0")}`);
    const first = new Map<string, { conversationId: string; messageId: string }>();
    for (let i = 0; i < visitors.length; i += 8) {
      const batch = await Promise.all(visitors.slice(i, i + 8).map((v) => widgetChat(server.url, publicId, v, "Hello")));
      batch.forEach((t, j) => first.set(visitors[i + j]!, t));
    }
    const armOf = (messageId: string) => app.db.select().from(messages).where(eq(messages.id, messageId)).get()!;
    let onA = 0;
    for (const t of first.values()) {
      const m = armOf(t.messageId);
      expect([armA!.id, armB!.id]).toContain(m.experimentArmId);
      expect(m.modelId).toBe(m.experimentArmId === armA!.id ? starterId : otherId);
      if (m.experimentArmId === armA!.id) onA++;
    }
    expect(onA).toBeGreaterThanOrEqual(80);
    expect(onA).toBeLessThanOrEqual(120);

    // The same visitor stays on their arm: in the same conversation and in a new one.
    for (const v of visitors.slice(0, 20)) {
      const before = armOf(first.get(v)!.messageId).experimentArmId;
      const again = await widgetChat(server.url, publicId, v, "And more?", first.get(v)!.conversationId);
      const fresh = await widgetChat(server.url, publicId, v, "New topic");
      expect(armOf(again.messageId).experimentArmId).toBe(before);
      expect(armOf(fresh.messageId).experimentArmId).toBe(before);
    }

    const live = await caller.loop.experiments.get({ id: exp.id });
    expect(live.arms.map((a) => a.answers).reduce((x, y) => x + y, 0)).toBe(240);
    expect(live.arms[0]!.conversations + live.arms[1]!.conversations).toBe(220);
    expect(live.arms[0]!.errorRate).toBe(0);
    expect(live.reading).toBe("No ratings yet: nothing to compare.");

    // Promote B: B's version becomes active, the experiment ends, new turns are untagged and answered by B.
    const promoted = await caller.loop.experiments.promote({ experimentId: exp.id, armId: armB!.id });
    expect(promoted).toMatchObject({ status: "promoted", winnerArmId: armB!.id, activeModelId: otherId, previousModelId: starterId });
    const after = await widgetChat(server.url, publicId, visitors[0]!, "After promotion");
    expect(armOf(after.messageId)).toMatchObject({ experimentArmId: null, modelId: otherId });

    // Rollback restores the earlier version for new turns.
    await caller.loop.experiments.rollback({ id: exp.id });
    const conv = await caller.conversations.create({ assistantId });
    const events = await collect(await caller.chat.send({ kind: "send", conversationId: conv.id, content: "After rollback" }));
    const done = events.find((e) => e.type === "done") as { message: { id: string } };
    expect(armOf(done.message.id)).toMatchObject({ experimentArmId: null, modelId: starterId });
  }, 600_000);

  it("an arm whose error rate passes the threshold is stopped automatically, with the reason", async () => {
    const caller = app.caller();
    const exp = await caller.loop.experiments.create({ assistantId, arms: [{ modelId: starterId, weight: 50 }, { modelId: otherId, weight: 50 }], minAnswers: 3, errorThreshold: 0.5 });
    const [armA, armB] = exp.arms;
    // Arm B's version has three failed answers on record (as a broken engine would leave them).
    const conv = await caller.conversations.create({ assistantId });
    for (let i = 0; i < 3; i++) {
      app.db.insert(messages).values({ id: `failed-${i}`, conversationId: conv.id, position: 100 + i, role: "assistant", content: "", status: "error", error: "engine failed", experimentArmId: armB!.id, modelId: otherId }).run();
    }
    for (let i = 0; i < 6; i++) await widgetChat(server.url, publicId, `visitor-auto-${i}`, "Hi");
    const view = await caller.loop.experiments.get({ id: exp.id });
    const b = view.arms.find((a) => a.id === armB!.id)!;
    expect(b.live).toBe(false);
    expect(b.stoppedReason).toBe("Stopped automatically: 3 of 3 answers failed (100%), above the 50% threshold.");
    expect(view.arms.find((a) => a.id === armA!.id)!.answers).toBe(6); // all traffic on A once B stopped
    const stopped = await caller.loop.experiments.stop({ id: exp.id });
    expect(stopped.status).toBe("stopped");
    await expect(caller.loop.experiments.stop({ id: exp.id })).rejects.toThrow(/already ended/);
  });

  it("promoting during an in-flight turn lets that turn finish on its version", async () => {
    const caller = app.caller();
    app.db.update(assistants).set({ modelId: starterId }).where(eq(assistants.id, assistantId)).run();
    const exp = await caller.loop.experiments.create({ assistantId, arms: [{ modelId: starterId, weight: 50 }, { modelId: otherId, weight: 50 }] });
    // A console conversation whose arm is A (the starter): find one by trying conversations.
    let conversationId = "";
    for (let i = 0; i < 40 && !conversationId; i++) {
      const conv = await caller.conversations.create({ assistantId });
      if (pickArm(exp.id, `conversation:${conv.id}`, exp.arms)!.id === exp.arms[0]!.id) conversationId = conv.id;
    }
    expect(conversationId).not.toBe("");
    const stream = await caller.chat.send({ kind: "send", conversationId, content: "Tell me a long story about models" });
    const it = stream[Symbol.asyncIterator]();
    let started: { message: { id: string } } | null = null;
    while (!started) {
      const next = await it.next();
      if (next.done) break;
      if ((next.value as { type: string }).type === "start") started = next.value as { message: { id: string } };
    }
    // Mid-turn, arm B (the other version) is promoted.
    await caller.loop.experiments.promote({ experimentId: exp.id, armId: exp.arms[1]!.id });
    for (let next = await it.next(); !next.done; next = await it.next());
    const m = app.db.select().from(messages).where(eq(messages.id, started!.message.id)).get()!;
    expect(m).toMatchObject({ status: "complete", modelId: starterId, experimentArmId: exp.arms[0]!.id });
    expect(app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!.modelId).toBe(otherId);
  });
});
