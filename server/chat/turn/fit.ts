import "server-only";
import { AtelierError } from "../../errors";
import { CITE_INSTRUCTION, knowledgeBudget, packSources, withKnowledge, type Retrieval, type SourceCandidates } from "../../knowledge";
import type { Turn } from "../../llm/chat-history";
import { answerRoom, promptLimit } from "../../llm/prompt-room";
import type { PromptMeter } from "./meter";

/*
 * Fitting a turn into the model's context, counted with the model's own tokenizer. What must be
 * there: the instructions (persona), the new message and room for the answer. Then, in this
 * order: sources (at most a fifth of the context, trimmed or dropped to fit) and as many of the
 * latest earlier turns as the rest holds. Each earlier turn is tokenized once (its count is
 * cached by content), the choice is a sum over turns, and the chosen prompt is rendered and
 * counted exactly once or twice: no re-tokenizing the whole history per dropped turn.
 *
 * Tokenizing is synchronous native work on the event loop (14-76 ms for 32,000 characters on the
 * starter's tokenizer, measured on a loaded 2-core machine). Fitting yields to the event loop
 * whenever it has run for TOKENIZE_SLICE_MS, so the longest stall it causes is one tokenization
 * of one message (bounded by ATELIER_MAX_MESSAGE_CHARS), not the whole fit.
 */

export type FittedPrompt = {
  /** The system prompt with the sources that fit appended. */
  systemPrompt: string;
  /** The turns that fit, ending with the new message. */
  turns: Turn[];
  /** The sources in the prompt (null when knowledge is off or none fit). */
  knowledge: Retrieval | null;
  /** Exact prompt tokens as rendered by the model's template. */
  promptTokens: number;
  /** Earlier turns left out for room. */
  droppedTurns: number;
};

/** Why a prompt cannot fit even without history and sources. */
export type OverflowCause = "message" | "instructions";

/** Fitting lets other requests run after this much synchronous tokenizing. */
export const TOKENIZE_SLICE_MS = 8;

/** Resolves at once while the current slice lasts; after TOKENIZE_SLICE_MS, on the next event-loop turn. */
function slicer(sliceMs = TOKENIZE_SLICE_MS): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

/** A generous guess of characters per token: a prefix this many times the room left tells most texts that cannot fit. */
const PREFIX_CHARS_PER_TOKEN = 8;
/** Tokens a prefix cut at a space may differ from the same text inside the whole (the cut's neighbourhood). */
const CUT_SLACK_TOKENS = 8;

/**
 * The tokens of `text` when they are at most `room`; otherwise some number above `room`. A long
 * message that cannot fit (32,000 characters of history against a 512-token context) is told from
 * a prefix of about PREFIX_CHARS_PER_TOKEN × room characters, not tokenized whole: the work is
 * bounded by the context, not by the message.
 */
function countWithin(meter: PromptMeter, text: string, room: number): number {
  const prefix = PREFIX_CHARS_PER_TOKEN * (Math.max(0, room) + CUT_SLACK_TOKENS);
  if (text.length > prefix) {
    const space = text.lastIndexOf(" ", prefix);
    const atLeast = meter.count(text.slice(0, space > prefix / 2 ? space : prefix)) - CUT_SLACK_TOKENS;
    if (atLeast > room) return atLeast;
  }
  return meter.count(text);
}

/** Sources get no slot smaller than this: a passage cut to a few tokens only confuses the model. */
const MIN_SOURCE_TOKENS = 24;

/**
 * The error when not even the instructions and the message fit (history and sources are already
 * out by then): it says which is too long, by how much, and what to change. OpenAI clients read
 * `reason` as the error code context_length_exceeded.
 */
export function contextOverflow(cause: OverflowCause, n: { contextSize: number; room: number; instructions: number; message: number; messageChars: number }): AtelierError {
  const available = n.contextSize - n.room - 1 - n.instructions;
  const message =
    cause === "message"
      ? `Your message is too long for this model: it is ${n.message.toLocaleString("en")} tokens, and after the assistant's instructions ` +
        `(${n.instructions.toLocaleString("en")} tokens) and room for the answer (${n.room.toLocaleString("en")}) the model's context of ` +
        `${n.contextSize.toLocaleString("en")} tokens leaves ${Math.max(0, available).toLocaleString("en")} for it. Shorten the message to about ` +
        `${Math.max(1, Math.floor((n.messageChars * Math.max(0, available)) / Math.max(1, n.message))).toLocaleString("en")} characters, ` +
        `or use a model with a longer context. (Earlier messages and knowledge sources were already left out.)`
      : `The assistant's instructions are too long for this model: they are ${n.instructions.toLocaleString("en")} tokens, and with room for the ` +
        `answer (${n.room.toLocaleString("en")}) the model's context of ${n.contextSize.toLocaleString("en")} tokens has no room left for a message. ` +
        `Shorten the persona (system prompt), lower the answer length, or use a model with a longer context.`;
  return new AtelierError("bad_request:chat", message, {
    reason: "context_length_exceeded",
    param: "messages",
    details: { cause, contextTokens: n.contextSize, answerRoom: n.room, instructionTokens: n.instructions, messageTokens: n.message },
  });
}

/** Drops leading assistant turns: a history starts with the user. */
function fromUser(turns: Turn[]): Turn[] {
  let i = 0;
  while (i < turns.length - 1 && turns[i]!.role !== "user") i++;
  return i === 0 ? turns : turns.slice(i);
}

/**
 * Fits `turns` (already windowed; the last is the user's new message) and the sources found for
 * it into the context of `meter`'s model, leaving `answerRoom(contextSize, maxTokens)` free.
 * Throws contextOverflow when even the instructions and the message alone do not fit.
 */
export async function fitPrompt(input: {
  meter: PromptMeter;
  systemPrompt: string;
  turns: Turn[];
  maxTokens: number;
  sources: SourceCandidates | null;
}): Promise<FittedPrompt> {
  const { meter, systemPrompt } = input;
  const breathe = slicer();
  const question = input.turns.at(-1);
  if (!question) throw new AtelierError("bad_request:chat", "There is no message to answer.");
  const contextSize = meter.contextSize;
  const limit = promptLimit(contextSize, input.maxTokens);

  // 1. What must fit: instructions + the new message (+ the template around them).
  const base = meter.render(systemPrompt, [question]);
  await breathe();
  if (base > limit) {
    const instructions = meter.render(systemPrompt, [{ role: "user", content: "" }]);
    const room = answerRoom(contextSize, input.maxTokens);
    const n = { contextSize, room, instructions, message: Math.max(1, base - instructions), messageChars: question.content.length };
    throw contextOverflow(instructions >= limit ? "instructions" : "message", n);
  }

  // 2. Sources: up to a fifth of the context, within what is left, counted by the tokenizer.
  let knowledge: Retrieval | null = null;
  let system = systemPrompt;
  let used = base;
  if (input.sources && input.sources.hits.length > 0) {
    let room = Math.min(knowledgeBudget(contextSize), limit - base - meter.count(CITE_INSTRUCTION) - 4);
    // Joining texts can tokenize a little differently from their parts: re-measure, shrink, retry.
    for (let attempt = 0; attempt < 3 && room >= MIN_SOURCE_TOKENS; attempt++) {
      const packed = packSources(input.sources, room, meter.count);
      await breathe();
      if (!packed.contextText) break;
      const withSources = withKnowledge(systemPrompt, packed);
      const tokens = meter.render(withSources, [question]);
      await breathe();
      if (tokens <= limit) {
        knowledge = packed;
        system = withSources;
        used = tokens;
        break;
      }
      room -= tokens - limit + 4;
    }
  }

  // 3. History: the latest earlier turns that fit in what is left, each counted once.
  const earlier = input.turns.slice(0, -1);
  let kept = 0;
  if (earlier.length > 0) {
    const empty = meter.render(systemPrompt, [{ role: "user", content: "" }]);
    const pair = meter.render(systemPrompt, [
      { role: "user", content: "" },
      { role: "assistant", content: "" },
      { role: "user", content: "" },
    ]);
    const overhead = Math.max(1, Math.ceil((pair - empty) / 2));
    let total = used;
    for (let i = earlier.length - 1; i >= 0; i--) {
      await breathe();
      const cost = countWithin(meter, earlier[i]!.content, limit - total - overhead) + overhead;
      if (total + cost > limit) break;
      total += cost;
      kept++;
    }
  }
  let turns = fromUser([...earlier.slice(earlier.length - kept), question]);

  // 4. Exact check of the chosen prompt; the per-turn estimate can be off by a token or two.
  let promptTokens = turns.length === 1 ? used : meter.render(system, turns);
  while (promptTokens > limit && turns.length > 1) {
    await breathe();
    turns = fromUser(turns.slice(1));
    promptTokens = meter.render(system, turns);
  }
  return { systemPrompt: system, turns, knowledge, promptTokens, droppedTurns: input.turns.length - turns.length };
}
