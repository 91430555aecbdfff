// Byte-level BPE trainer/encoder vs llama.cpp's "gpt2" tokenizer (pre-tokenizer "gpt-2") as
// exposed by node-llama-cpp: token ids and detokenized text must match exactly.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLlamaGguf } from "../helpers/gguf";
import {
  BYTE_TO_CHAR,
  BpeTokenizer,
  SPECIAL_TOKENS,
  TOKEN_TYPE_CONTROL,
  TOKEN_TYPE_NORMAL,
  cleanSpaces,
  gpt2PreTokenize,
  trainBpe,
} from "@/server/forge/tokenizer";

const CORPUS = [
  `Atelier is a self-hosted platform to craft domain assistants around your own GGUF model.
It's got a chat UI, personas, and a training studio: LoRA, full fine-tune, or from scratch.
We've measured held-out perplexity; they'll see it drop. I'm sure you'd like that.`,
  `function tokenize(text: string): number[] {\n  const out: number[] = [];\n  for (const ch of text) out.push(ch.codePointAt(0)!);\n  return out;\n}\n`,
  "Ünïcödé façade naïve café — «quotes» “curly” ‘single’ … ellipsis. 日本語のテキストです。中文文本。한국어 텍스트. Привет, мир! Γειά σου κόσμε. مرحبا بالعالم",
  "Emoji 😀😃😄 👩‍👩‍👧‍👦 🇫🇷 ❤️ 👍🏽 and numbers 1234567890 3.14159 ١٢٣٤ ½ ² Ⅻ",
  "   indented\n\n\n\ttabbed\r\n  windows line   \n\n" + "x".repeat(40) + " " + "ab".repeat(30),
];

const TEXTS = [
  "Hello world! It's a test, isn't it? We've they'll I'm you'd she'd",
  "  leading spaces\n\n\ttabs\r\nwindows  \n   trailing   ",
  "emoji 😀🎉👩‍👩‍👧 and CJK 日本語のテキスト, Ελληνικά, русский текст, العربية",
  "function f(x) { return x ** 2 + 1; } // code\nconst a = [1, 2, 3].map((v) => v * 2);\n\tif (a) {\n\t\treturn;\n\t}",
  "numbers 123456 3.14159 1e10 ١٢٣ ²³ ⅫⅩ 0x1F",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|><|endoftext|>",
  "'s 's' 'll ''ll 'S 'RE Don't",
  "\u00a0nbsp\u2003em\u3000ideo \u0085nel \u200bzwsp \u2028ls",
  "combining e\u0301 a\u0308 ﬁ ligature \u0000 nul \u001b[31m ansi \u007f",
  "     ",
  "\n",
  "a",
  "npm install && npm start",
  '<script src="https://HOST/widget.js" data-assistant="PUBLIC_ID" async></script>',
];

let dir: string;
let tok: BpeTokenizer;
let model: LlamaModel;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "forge-tok-"));
  tok = trainBpe([...CORPUS, ...CORPUS, ...CORPUS], { vocabSize: 700 });
  const file = path.join(dir, "vocab.gguf");
  writeLlamaGguf(file, tok.data, { weights: "random" }); // weights only so node-llama-cpp's load simulation stays quiet
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: file, vocabOnly: true });
});

afterAll(async () => {
  await model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("BPE trainer", () => {
  it("is deterministic and lays out bytes, merges and control tokens", () => {
    const again = trainBpe([...CORPUS, ...CORPUS, ...CORPUS], { vocabSize: 700 });
    expect(again.data).toEqual(tok.data);
    expect(tok.vocabSize).toBe(700);
    expect(tok.data.tokens.slice(0, 256)).toEqual(BYTE_TO_CHAR);
    expect(tok.data.merges.length).toBeGreaterThanOrEqual(700 - 256 - 3);
    expect(tok.data.tokens.slice(-3)).toEqual([SPECIAL_TOKENS.endOfText, SPECIAL_TOKENS.imStart, SPECIAL_TOKENS.imEnd]);
    expect(tok.data.token_type.slice(-3)).toEqual([TOKEN_TYPE_CONTROL, TOKEN_TYPE_CONTROL, TOKEN_TYPE_CONTROL]);
    expect(tok.data.token_type.slice(0, -3).every((t) => t === TOKEN_TYPE_NORMAL)).toBe(true);
    expect(new Set(tok.data.tokens).size).toBe(tok.vocabSize);
    // merges use GPT-2's byte alphabet: never a raw space inside a merge part
    for (const m of tok.data.merges) expect(m.split(" ")).toHaveLength(2);
    expect(tok.data.bos_id).toBe(tok.data.tokens.indexOf(SPECIAL_TOKENS.endOfText));
    expect(tok.data.eot_id).toBe(tok.data.tokens.indexOf(SPECIAL_TOKENS.imEnd));
    // a different corpus gives a different vocabulary
    expect(trainBpe([...CORPUS.slice(1), ...CORPUS], { vocabSize: 700 }).data.merges).not.toEqual(tok.data.merges);
  });

  it("learns frequent words as single tokens", () => {
    expect(tok.encode(" perplexity")).toHaveLength(1);
    expect(tok.encode("Atelier")).toHaveLength(1);
  });
});

describe("GPT-2 pre-tokenizer (llama.cpp unicode_regex_split_custom_gpt2)", () => {
  it("splits like the reference regex", () => {
    expect(gpt2PreTokenize("Hello world's  test!!  \n")).toEqual(["Hello", " world", "'s", " ", " test", "!!", "  \n"]);
    expect(gpt2PreTokenize("I'm 12345 ab12")).toEqual(["I", "'m", " 12345", " ab", "12"]);
    expect(gpt2PreTokenize("a   b")).toEqual(["a", "  ", " b"]);
    expect(gpt2PreTokenize("x\n\ny")).toEqual(["x", "\n", "\n", "y"]);
    expect(gpt2PreTokenize("end  ")).toEqual(["end", "  "]);
  });
});

describe("encoder matches node-llama-cpp (llama.cpp) token for token", () => {
  it.each(TEXTS.map((t) => [JSON.stringify(t).slice(0, 50), t]))("%s", (_label, text) => {
    for (const special of [false, true]) {
      expect(tok.encode(text, { special })).toEqual(model.tokenize(text, special));
    }
  });

  it("matches on the training corpus and 2,000 random strings of tricky pieces", () => {
    for (const text of CORPUS) expect(tok.encode(text)).toEqual(model.tokenize(text));
    const pieces = [" ", "  ", "\n", "\t", "\r", "a", "Z", "the", " the", "'", "'s", "'ll", "'S", "1", "23", "٣", "²", ".", ",", "?", "!",
      "-", "(", "{", "😀", "👩‍👩‍👧", "\u200d", "é", "e\u0301", "日本", "\u00a0", "\u3000", "\u0085", "<|im_start|>", "<|im_end|>",
      "<|endoftext|>", "<|", "|>", "\ud800", "\u{10ffff}", "\u{e0001}", "ǅ", "ʰ", "\u0600", "\u0000", "\u007f", "Atelier", " GGUF"];
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let mismatches = 0;
    for (let k = 0; k < 2000; k++) {
      let s = "";
      const n = 1 + Math.floor(rnd() * 20);
      for (let i = 0; i < n; i++) s += pieces[Math.floor(rnd() * pieces.length)];
      const special = k % 2 === 0;
      if (JSON.stringify(tok.encode(s, { special })) !== JSON.stringify(model.tokenize(s, special))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});

describe("decoding", () => {
  it("round-trips exactly through our decoder and node-llama-cpp's detokenize", () => {
    for (const text of [...TEXTS, ...CORPUS]) {
      const ids = tok.encode(text, { special: true });
      // our decoder: byte-exact
      expect(tok.decode(ids, { special: true })).toBe(text.toWellFormed());
      // llama.cpp applies clean_up_tokenization_spaces for gpt-2 vocabs; our cleanSpaces option mirrors it
      expect(model.detokenize(ids as Token[], true)).toBe(tok.decode(ids, { special: true, cleanSpaces: true }));
      expect(model.detokenize(ids as Token[], false)).toBe(tok.decode(ids, { cleanSpaces: true }));
      // and for text without " ." / " ," / " ?" / " !" / " 's"-style sequences that is the identity
      if (!/ [.,?!]| '/.test(text)) expect(model.detokenize(ids as Token[], true)).toBe(text.toWellFormed());
    }
  });

  it("drops control tokens unless special decoding is asked for", () => {
    const ids = tok.encode("<|im_start|>user\nhi<|im_end|>", { special: true });
    expect(ids[0]).toBe(tok.tokenId("<|im_start|>"));
    expect(tok.decode(ids)).toBe("user\nhi");
    expect(model.detokenize(ids as Token[], false)).toBe("user\nhi");
    // without special parsing the same text is plain bytes
    expect(tok.encode("<|im_start|>")).not.toContain(tok.tokenId("<|im_start|>"));
  });

  it("cleanSpaces reproduces llama.cpp's three passes", () => {
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    const clean = (s: string) => dec.decode(cleanSpaces(enc.encode(s)));
    expect(clean("a , b . c ? d !")).toBe("a, b. c? d!");
    expect(clean("rock ' n")).toBe("rock'n");
    expect(clean("it 's we 're I 'm you 've don 't")).toBe("it's we're I'm you've don 't");
    for (const text of ["a , b", "x ' y", "he 's", "cd .."]) {
      const ids = tok.encode(text);
      expect(model.detokenize(ids as Token[])).toBe(clean(text));
    }
  });
});
