// The node-llama-cpp private fields batching reads (server/llm/internals.ts), checked on a REAL
// context of the starter model: this fails when an upgrade renames or removes one, instead of
// batching silently falling back to the slower default order.
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { checkInternals, checkInternalsOnce, INTERNALS_VERSION, installedVersion, nativeSequenceId, queuedDecodes, queuedDecodeSequenceIds } from "@/server/llm/internals";
import { starterModelPath } from "../helpers/model";

let llama: Llama;
let model: LlamaModel;
let context: LlamaContext;
/** What the private queue held each time a decode was about to be dispatched. */
const seenAtDispatch: { queued: { sequenceId: number; tokens: number }[]; ids: number[] }[] = [];

beforeAll(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: starterModelPath() });
  context = await model.createContext({
    sequences: 2,
    contextSize: 256,
    batching: {
      dispatchSchedule: (dispatch) => {
        seenAtDispatch.push({
          queued: (queuedDecodes(context) ?? []).map((q) => ({ sequenceId: q.sequenceId, tokens: q.tokens.length })),
          ids: [...(queuedDecodeSequenceIds(context) ?? [])],
        });
        setImmediate(dispatch);
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await context?.dispose();
  await model?.dispose();
  await llama?.dispose();
});

describe("node-llama-cpp internals used for batching", () => {
  it("the installed version is the pinned one the fields were read from", () => {
    expect(installedVersion()).toBe(INTERNALS_VERSION);
    expect(INTERNALS_VERSION).toBe("3.21.1"); // package.json pins node-llama-cpp exactly to this
  });

  it("every private field is present on a real context and its sequences", () => {
    const first = context.getSequence();
    const second = context.getSequence();
    const report = checkInternals(context, first);
    expect(report.fields.filter((f) => !f.present)).toEqual([]);
    expect(report.ok).toBe(true);
    // The native ids are the KV streams 0 and 1 of a two-sequence context.
    expect([nativeSequenceId(first), nativeSequenceId(second)].sort()).toEqual([0, 1]);
    first.dispose();
    second.dispose();
  });

  it("the queue fields hold what batching relies on: each queued decode with its sequence's native id", async () => {
    const sequence = context.getSequence();
    const id = nativeSequenceId(sequence)!;
    const tokens = model.tokenize("Atelier is a self-hosted platform.");
    seenAtDispatch.length = 0;
    await sequence.evaluateWithoutGeneratingNewTokens(tokens);
    const withOurs = seenAtDispatch.find((s) => s.queued.some((q) => q.sequenceId === id));
    expect(withOurs, JSON.stringify(seenAtDispatch)).toBeDefined();
    expect(withOurs!.queued.find((q) => q.sequenceId === id)!.tokens).toBe(tokens.length);
    expect(withOurs!.ids).toContain(id);
    sequence.dispose();
  });
});

describe("when an upgrade removed them", () => {
  it("the start-up check names each missing field once in the log, and the readers say undefined", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const bareContext = {} as LlamaContext;
    const bareSequence = {} as Parameters<typeof checkInternals>[1];
    const report = checkInternalsOnce(bareContext, bareSequence);
    expect(report.ok).toBe(false);
    expect(report.fields.filter((f) => !f.present).map((f) => f.name)).toEqual([
      "LlamaContext._queuedDecodes",
      "LlamaContext._queuedDecodeSequenceIds",
      "LlamaContextSequence._sequenceId",
    ]);
    checkInternalsOnce(bareContext, bareSequence);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/lacks LlamaContext\._queuedDecodes, .*falls back to node-llama-cpp's default/);
    expect([queuedDecodes(bareContext), queuedDecodeSequenceIds(bareContext), nativeSequenceId(bareSequence)]).toEqual([undefined, undefined, undefined]);
    warn.mockRestore();
  });
});
