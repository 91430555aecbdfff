import type { ChatHistoryItem, Token } from "node-llama-cpp";
import { toChatHistory } from "../../llm/chat-history";
import { ForgeError } from "../errors";
import type { ForgeTokenizer } from "./tokenizer";

/*
 * Records → tokens and loss masks. Chat records are rendered with the model's chat wrapper and the
 * history shape serving uses (server/llm/chat-history.ts), so training text equals served text.
 */

export interface TextDocument {
  text: string;
  /** stable id used for the held-out split (default: hash of the text) */
  id?: string;
}

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface ChatRecord {
  system?: string;
  /** alternating turns; every assistant turn is a training target */
  messages: ChatMessage[];
  /** records sharing a group always land on the same side of the held-out split */
  group?: string;
}

/** One tokenized training sample: `mask[i] = 1` ⇔ tokens[i] is a target (predicted from tokens before it). */
export interface Sample {
  tokens: number[];
  mask: number[];
}

/** Raw text: every token is a target; the document ends with EOS (and starts with BOS when the model wants it). */
export function tokenizeDocument(doc: TextDocument | string, tok: ForgeTokenizer): Sample {
  const text = typeof doc === "string" ? doc : doc.text;
  const body = tok.tokenizer(text, false) as number[];
  const tokens = [...(tok.addBosToDocuments && tok.bos != null ? [tok.bos] : []), ...body, tok.eos];
  return { tokens, mask: tokens.map(() => 1) };
}

function historyFor(record: ChatRecord, upTo: number, answer: "open" | "closed"): ChatHistoryItem[] {
  const turns = record.messages.slice(0, upTo).map((m) => ({ role: m.role === "user" ? ("user" as const) : ("assistant" as const), content: m.content }));
  const history = toChatHistory(record.system ?? "", turns, record.messages[upTo]!.content);
  // A following user turn makes the wrapper close the answer (its end-of-turn token is a target too).
  if (answer === "closed") history.push({ type: "user", text: "x" });
  return history;
}

function render(tok: ForgeTokenizer, history: ChatHistoryItem[]): number[] {
  return tok.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(tok.tokenizer) as number[];
}

function startsWith(a: readonly number[], prefix: readonly number[]) {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/**
 * Chat / SFT record → samples with loss on the assistant answers only.
 * The conversation is rendered by the model's chat wrapper (the same code path as serving), and
 * the mask is found by tokenizing the prompt (history + open assistant turn, what serving feeds
 * the model) against the same history with the answer: the difference is the answer, followed by
 * the wrapper's end-of-turn token (e.g. <|im_end|>) so the model learns to stop.
 * Returns one sample per conversation, or one per assistant turn if the wrapper re-renders
 * earlier turns differently (no common prefix).
 */
export function tokenizeChat(record: ChatRecord, tok: ForgeTokenizer): Sample[] {
  const turns: { prompt: number[]; closed: number[]; end: number }[] = [];
  record.messages.forEach((m, i) => {
    // An empty answer teaches nothing, and chat wrappers drop empty model turns when closing them.
    if (m.role !== "assistant" || m.content === "") return;
    const promptHistory = historyFor(record, i, "open");
    (promptHistory[promptHistory.length - 1] as { response: string[] }).response = [];
    const prompt = render(tok, promptHistory);
    const open = render(tok, historyFor(record, i, "open"));
    const closed = render(tok, historyFor(record, i, "closed"));
    if (!startsWith(open, prompt) || !startsWith(closed, open)) {
      throw new ForgeError(
        "BAD_CONFIG",
        `chat wrapper ${tok.chatWrapper.wrapperName} does not render the assistant answer as a continuation of the prompt`,
      );
    }
    // the end of turn: up to and including the first end-of-generation token after the answer
    let end = open.length;
    let found = false;
    for (let j = open.length; j < closed.length; j++) {
      if (tok.tokenizer.isEogToken(closed[j] as Token)) {
        end = j + 1;
        found = true;
        break;
      }
    }
    if (!found) {
      closed.splice(open.length, closed.length - open.length, tok.eos);
      end = open.length + 1;
    }
    turns.push({ prompt, closed: closed.slice(0, end), end });
  });
  if (turns.length === 0) return [];

  const last = turns[turns.length - 1]!;
  const consistent = turns.every((t) => startsWith(last.closed, t.closed));
  const sampleOf = (tokens: number[], targets: typeof turns): Sample => {
    const mask = new Array<number>(tokens.length).fill(0);
    for (const t of targets) for (let j = t.prompt.length; j < t.end; j++) mask[j] = 1;
    return { tokens, mask };
  };
  if (consistent) return [sampleOf(last.closed, turns)];
  return turns.map((t) => sampleOf(t.closed, [t]));
}

