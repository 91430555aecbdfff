import "server-only";
import type { LlamaModel, Token } from "node-llama-cpp";

const REPLACEMENT = "\uFFFD";
/** A UTF-8 character is at most 4 bytes, so at most 4 byte tokens can be waiting for the rest of one. */
const MAX_HELD_TOKENS = 4;

/**
 * Turns generated tokens into text one token at a time. A character split across byte tokens
 * (emoji, accents in byte-level BPE vocabularies) detokenizes to U+FFFD until its last byte
 * arrives, so those tokens are held back and emitted together once they decode cleanly.
 * The previously emitted group is passed as context so SentencePiece vocabularies keep the
 * space at the start of a word.
 */
export class TokenTextDecoder {
  private held: Token[] = [];
  private previous: Token[] = [];

  constructor(private readonly model: LlamaModel) {}

  /** The text that `token` completes; "" while a character is still incomplete. */
  push(token: Token): string {
    this.held.push(token);
    const text = this.model.detokenize(this.held, false, this.previous);
    if (text.endsWith(REPLACEMENT) && this.held.length < MAX_HELD_TOKENS) return "";
    this.previous = this.held;
    this.held = [];
    return text;
  }

  /** Whatever is still held (an incomplete character at the very end stays as U+FFFD). */
  flush(): string {
    if (this.held.length === 0) return "";
    const text = this.model.detokenize(this.held, false, this.previous);
    this.previous = this.held;
    this.held = [];
    return text;
  }
}

/**
 * Finds plain-text stop triggers (e.g. "<|im_end|>" spelled out in ordinary tokens) in streamed
 * text. Text that could be the start of a trigger is held back until it either completes the
 * trigger (the stream ends before it) or stops matching (it is released), so a trigger never
 * leaks into the answer.
 */
export class StopTextMatcher {
  private pending = "";
  private readonly triggers: string[];

  constructor(triggers: readonly string[]) {
    this.triggers = triggers.filter((t) => t.length > 0);
  }

  /** Feeds text; returns what can be shown now and whether a trigger was found. */
  push(text: string): { text: string; stopped: boolean } {
    if (this.triggers.length === 0) return { text, stopped: false };
    const all = this.pending + text;
    let first = -1;
    for (const t of this.triggers) {
      const i = all.indexOf(t);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    if (first >= 0) {
      this.pending = "";
      return { text: all.slice(0, first), stopped: true };
    }
    let keep = 0;
    for (const t of this.triggers) {
      for (let k = Math.min(t.length - 1, all.length); k > keep; k--) {
        if (all.endsWith(t.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    this.pending = all.slice(all.length - keep);
    return { text: all.slice(0, all.length - keep), stopped: false };
  }

  /** Held-back text when the stream ends without completing a trigger. */
  flush(): string {
    const rest = this.pending;
    this.pending = "";
    return rest;
  }
}

/** Token-sequence stop triggers (special tokens such as ChatML's <|im_end|>), matched on the generated tail. */
export class StopTokenMatcher {
  private readonly tail: Token[] = [];
  private readonly longest: number;

  constructor(private readonly triggers: readonly (readonly Token[])[]) {
    this.longest = Math.max(0, ...triggers.map((t) => t.length));
  }

  /** Records a generated token; true when the tokens so far end with a trigger. */
  push(token: Token): boolean {
    if (this.longest === 0) return false;
    this.tail.push(token);
    if (this.tail.length > this.longest) this.tail.shift();
    return this.triggers.some((t) => t.length > 0 && t.length <= this.tail.length && t.every((x, i) => this.tail[this.tail.length - t.length + i] === x));
  }
}
