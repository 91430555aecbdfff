import { describe, expect, it } from "vitest";
import { chatReducer, initialChatState, regeneratableId, type ChatAction, type ChatState } from "@/app/_lib/chat-state";
import type { Message } from "@/app/_lib/types";

function msg(id: string, role: Message["role"], content = "", extra: Partial<Message> = {}): Message {
  return {
    id,
    conversationId: "c1",
    role,
    content,
    status: "complete",
    error: null,
    modelId: null,
    modelLabel: null,
    promptTokens: null,
    completionTokens: null,
    ttftMs: null,
    durationMs: null,
    tokensPerSecond: null,
    createdAt: 1,
    ...extra,
  };
}

const run = (state: ChatState, ...actions: ChatAction[]) => actions.reduce(chatReducer, state);

describe("chat stream reducer", () => {
  it("accumulates a streamed reply from send to done", () => {
    const placeholder = msg("a1", "assistant", "", { status: "streaming" });
    let s = run(initialChatState(), { type: "begin", input: { kind: "send", conversationId: "c1", content: "hi" }, tempId: "t", now: 5 });
    expect(s.phase).toBe("sending");
    expect(s.messages.map((m) => m.id)).toEqual(["temp:t"]);

    s = run(
      s,
      { type: "event", event: { type: "user", message: msg("u1", "user", "hi") } },
      { type: "event", event: { type: "start", message: placeholder, model: { id: "m1", label: "Starter" } } },
    );
    expect(s.messages.map((m) => m.id)).toEqual(["u1", "a1"]);
    expect(s.phase).toBe("streaming");
    expect(s.streamingId).toBe("a1");
    expect(s.messages[1]?.modelLabel).toBe("Starter");

    const lengths: number[] = [];
    for (const text of ["Hel", "lo", ", ", "world"]) {
      s = chatReducer(s, { type: "event", event: { type: "token", text } });
      lengths.push(s.messages[1]?.content.length ?? 0);
    }
    expect(lengths).toEqual([3, 5, 7, 12]);
    expect(s.messages[1]?.content).toBe("Hello, world");

    const final = msg("a1", "assistant", "Hello, world", { tokensPerSecond: 12.3, completionTokens: 4, modelLabel: "Starter" });
    s = run(s, { type: "event", event: { type: "done", message: final } }, { type: "finish" });
    expect(s.phase).toBe("idle");
    expect(s.streamingId).toBeNull();
    expect(s.messages[1]).toEqual(final);
  });

  it("ignores refetched messages while streaming, applies them when idle", () => {
    const streaming = run(initialChatState([msg("u1", "user", "q")]), {
      type: "begin",
      input: { kind: "send", conversationId: "c1", content: "again" },
      tempId: "x",
      now: 1,
    });
    expect(chatReducer(streaming, { type: "load", messages: [] })).toBe(streaming);
    const idle = initialChatState();
    expect(chatReducer(idle, { type: "load", messages: [msg("u9", "user")] }).messages).toHaveLength(1);
  });

  it("marks the streaming message interrupted on abort and keeps its partial text", () => {
    let s = run(
      initialChatState([msg("u1", "user", "q")]),
      { type: "begin", input: { kind: "send", conversationId: "c1", content: "next" }, tempId: "t", now: 1 },
      { type: "event", event: { type: "user", message: msg("u2", "user", "next") } },
      { type: "event", event: { type: "start", message: msg("a2", "assistant", "", { status: "streaming" }), model: { id: "m", label: "M" } } },
      { type: "event", event: { type: "token", text: "partial" } },
    );
    s = chatReducer(s, { type: "fail", error: "Stopped", aborted: true });
    expect(s.phase).toBe("idle");
    expect(s.error).toBeNull();
    expect(s.messages.at(-1)).toMatchObject({ id: "a2", status: "interrupted", content: "partial" });
  });

  it("drops the optimistic user message and reports the error when the server rejects it", () => {
    const s = run(
      initialChatState([msg("u1", "user", "q")]),
      { type: "begin", input: { kind: "send", conversationId: "c1", content: " " }, tempId: "t", now: 1 },
      { type: "fail", error: "The message is empty.", aborted: false },
    );
    expect(s.messages.map((m) => m.id)).toEqual(["u1"]);
    expect(s.error).toBe("The message is empty.");
  });

  it("records an error event on the message and surfaces it", () => {
    const failed = msg("a1", "assistant", "", { status: "error", error: "Model failed to load" });
    const s = run(
      initialChatState(),
      { type: "begin", input: { kind: "send", conversationId: "c1", content: "q" }, tempId: "t", now: 1 },
      { type: "event", event: { type: "user", message: msg("u1", "user", "q") } },
      { type: "event", event: { type: "error", message: failed, error: "Model failed to load" } },
      { type: "finish" },
    );
    expect(s.messages.map((m) => [m.id, m.status])).toEqual([
      ["u1", "complete"],
      ["a1", "error"],
    ]);
    // Shown on the message itself, not a second time in the banner.
    expect(s.error).toBeNull();
    expect(chatReducer(s, { type: "event", event: { type: "error", message: null, error: "Engine busy" } }).error).toBe("Engine busy");
  });

  it("regenerate drops the old answer; the new placeholder streams in its place", () => {
    const base = [msg("u1", "user", "q"), msg("a1", "assistant", "old")];
    let s = run(initialChatState(base), {
      type: "begin",
      input: { kind: "regenerate", conversationId: "c1", messageId: "a1" },
      tempId: "t",
      now: 1,
    });
    expect(s.messages.map((m) => m.id)).toEqual(["u1"]);
    s = run(
      s,
      { type: "event", event: { type: "user", message: base[0]! } },
      { type: "event", event: { type: "start", message: msg("a2", "assistant", "", { status: "streaming" }), model: { id: "m", label: "M" } } },
      { type: "event", event: { type: "token", text: "new" } },
    );
    expect(s.messages.map((m) => [m.id, m.content])).toEqual([
      ["u1", "q"],
      ["a2", "new"],
    ]);
  });

  it("edit rewrites the user message and truncates everything after it", () => {
    const base = [msg("u1", "user", "first"), msg("a1", "assistant", "r1"), msg("u2", "user", "second"), msg("a2", "assistant", "r2")];
    let s = run(initialChatState(base), {
      type: "begin",
      input: { kind: "edit", conversationId: "c1", messageId: "u1", content: "first, edited" },
      tempId: "t",
      now: 1,
    });
    expect(s.messages.map((m) => [m.id, m.content])).toEqual([["u1", "first, edited"]]);
    s = chatReducer(s, { type: "event", event: { type: "user", message: msg("u1", "user", "first, edited") } });
    expect(s.messages).toHaveLength(1);
  });

  it("only offers regenerate on a trailing assistant message", () => {
    expect(regeneratableId([msg("u1", "user"), msg("a1", "assistant")])).toBe("a1");
    expect(regeneratableId([msg("a1", "assistant"), msg("u1", "user")])).toBeNull();
    expect(regeneratableId([])).toBeNull();
  });
});
