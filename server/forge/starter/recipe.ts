import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type { ChatRecord, TextDocument } from "../data/render";
import { repoRoot } from "../binary";
import { cleanSpaces } from "../tokenizer/bpe";

/**
 * THE STARTER MODEL RECIPE. Bump RECIPE_VERSION whenever anything here or in the corpus changes
 * the produced model; `npm run starter` rebuilds models/starter/atelier-starter.gguf.
 */
export const RECIPE_VERSION = 1;
export const STARTER_SEED = 1234;

/** Default assistant system prompt; the default assistant should use exactly this text. */
export const STARTER_SYSTEM_PROMPT = "You are Atelier's guide. Answer questions about Atelier briefly.";

/** Other prompts mixed into training so persona prompts (or none) still work. */
const ALT_SYSTEM_PROMPTS = [
  "You are a helpful assistant.",
  "You are a friendly support assistant for Atelier.",
  "Answer the user's questions about Atelier.",
];

export const STARTER_PATHS = {
  corpusDir: () => path.join(repoRoot(), "server", "forge", "starter", "corpus"),
  gguf: () => path.join(repoRoot(), "models", "starter", "atelier-starter.gguf"),
  meta: () => path.join(repoRoot(), "models", "starter", "atelier-starter.json"),
  /** scratch space (gitignored): datasets, run.json, checkpoint */
  work: () => path.join(repoRoot(), "tmp", "starter-build"),
};

export const STARTER_TOKENIZER = { vocabSize: 1536, minFrequency: 2 };

export const STARTER_MODEL = {
  n_embd: 128,
  n_layer: 4,
  n_head: 4,
  n_head_kv: 4,
  n_ff: 384,
  n_ctx: 512,
  rope_theta: 10000,
  norm_eps: 1e-5,
};

export const STARTER_TRAINING = {
  seq_len: 256,
  /** share of the eligible extra paraphrases held out (see starterRecords) */
  eval_fraction: 0.25,
  batch: 8,
  grad_accum: 1,
  /** passes over the data; each pass is packed differently (craft.ts trains epochs = 1 over all of them) */
  epochs: 20,
  lr: 3e-3,
  min_lr_ratio: 0.05,
  warmup_steps: 30,
  weight_decay: 0.05,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  grad_clip: 1.0,
  eval_every: 100,
  save_every: 200,
  out_type: "f16" as const,
};

export interface QaTopic {
  id: string;
  q: string[];
  a: string;
}

export interface StarterCorpus {
  topics: QaTopic[];
  conversations: ChatRecord[];
  documents: TextDocument[];
  /** sha256 over every corpus file (name + content), sorted by name */
  hash: string;
  files: string[];
}

export function loadStarterCorpus(dir = STARTER_PATHS.corpusDir()): StarterCorpus {
  if (!existsSync(dir)) throw new Error(`starter corpus directory ${dir} is missing`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl") || f.endsWith(".md"))
    .sort();
  const h = createHash("sha256");
  const topics: QaTopic[] = [];
  const conversations: ChatRecord[] = [];
  const documents: TextDocument[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(dir, f), "utf8");
    h.update(`${f}\u0000${text}\u0000`);
    if (f.endsWith(".md")) {
      documents.push({ id: f, text });
      continue;
    }
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      const obj = JSON.parse(line) as Record<string, unknown>;
      if (Array.isArray(obj.q) && typeof obj.a === "string" && typeof obj.id === "string") {
        assertServable(obj.a, `${f}:${i + 1} (${obj.id})`);
        topics.push({ id: obj.id, q: obj.q as string[], a: obj.a });
      } else if (Array.isArray(obj.messages)) {
        for (const m of obj.messages as ChatRecord["messages"]) if (m.role === "assistant") assertServable(m.content, `${f}:${i + 1}`);
        conversations.push({ messages: obj.messages as ChatRecord["messages"] });
      } else {
        throw new Error(`${f}:${i + 1}: expected {"id","q":[...],"a"} or {"messages":[...]}`);
      }
    });
  }
  return { topics, conversations, documents, hash: h.digest("hex"), files };
}

/** Topics that are small talk / refusals: no filler-word augmentation for them. */
const SMALL_TALK = new Set(["hello", "how-are-you", "thanks", "bye", "help", "joke", "ok"]);
const FILLERS = ["Quick question: ", "Hey, ", "Please tell me: ", "I was wondering: "];

export interface StarterRecords {
  train: ChatRecord[];
  /** held-out paraphrases: never trained on; their perplexity is the recipe's eval metric */
  eval: ChatRecord[];
}

/**
 * llama.cpp detokenizes "gpt-2" vocabularies with clean_up_tokenization_spaces (" ." → "."), so an
 * answer containing such a sequence could never be shown verbatim: reject it in the corpus.
 */
function assertServable(answer: string, where: string) {
  const bytes = new TextEncoder().encode(answer);
  const cleaned = new TextDecoder().decode(cleanSpaces(bytes));
  if (cleaned !== answer) {
    const at = [...answer].findIndex((ch, k) => ch !== [...cleaned][k]);
    throw new Error(`${where}: answer has a space before punctuation near ${JSON.stringify(answer.slice(Math.max(0, at - 15), at + 10))}; serving would print it without that space`);
  }
}

/**
 * Expands the corpus into chat records (deterministic):
 *  - every question variant with the default system prompt, plus a lowercase unpunctuated variant
 *    and one with a filler prefix ("Quick question: …") so wording noise does not derail the model;
 *  - per topic one record without a system prompt and one with another generic prompt;
 *  - each conversation with and without the default prompt.
 * Held out: a hashed ~25% of the *extra* paraphrases (variant 3 onwards of topics with ≥ 4
 * variants; never small talk, never a question that also opens a training conversation). The first two variants of every topic are always trained, so every answer and the
 * canonical questions are learned, and the eval set measures generalisation to unseen wordings.
 */
export function starterRecords(corpus: StarterCorpus): StarterRecords {
  const train: ChatRecord[] = [];
  const evalSet: ChatRecord[] = [];
  const qa = (q: string, a: string, system?: string): ChatRecord => ({
    ...(system !== undefined ? { system } : {}),
    messages: [{ role: "user", content: q }, { role: "assistant", content: a }],
  });
  const inConversations = new Set(corpus.conversations.flatMap((c) => c.messages.filter((m) => m.role === "user").map((m) => m.content)));
  const heldOut = (key: string, q: string) =>
    !inConversations.has(q) && createHash("sha256").update(`${STARTER_SEED}:${key}`).digest().readUInt32BE(0) / 2 ** 32 < STARTER_TRAINING.eval_fraction;
  corpus.topics.forEach((t, ti) => {
    t.q.forEach((q, qi) => {
      const rec = qa(q, t.a, STARTER_SYSTEM_PROMPT);
      if (qi >= 2 && t.q.length >= 4 && !SMALL_TALK.has(t.id) && heldOut(`${t.id}:${q}`, q)) evalSet.push(rec);
      else train.push(rec);
    });
    // people type fast: every topic gets a lowercase variant without final punctuation
    const casual = (q: string) => q.toLowerCase().replace(/[?.!]+$/, "");
    if (!t.q.some((q) => q === casual(q))) train.push(qa(casual(t.q[0]!), t.a, STARTER_SYSTEM_PROMPT));
    if (!SMALL_TALK.has(t.id)) {
      const q0 = t.q[0]!;
      train.push(qa(FILLERS[ti % FILLERS.length]! + q0[0]!.toLowerCase() + q0.slice(1), t.a, STARTER_SYSTEM_PROMPT));
    }
    train.push(qa(t.q[0]!, t.a));
    train.push(qa(t.q[1 % t.q.length]!, t.a, ALT_SYSTEM_PROMPTS[ti % ALT_SYSTEM_PROMPTS.length]!));
  });
  for (const c of corpus.conversations) {
    train.push({ system: STARTER_SYSTEM_PROMPT, messages: c.messages });
    train.push({ messages: c.messages });
  }
  return { train, eval: evalSet };
}

/** All text the tokenizer is trained on. */
export function starterTokenizerCorpus(corpus: StarterCorpus): string[] {
  const texts: string[] = [STARTER_SYSTEM_PROMPT, ...ALT_SYSTEM_PROMPTS, ...FILLERS, "system", "user", "assistant"];
  for (const t of corpus.topics) texts.push(...t.q, t.a);
  for (const c of corpus.conversations) for (const m of c.messages) texts.push(m.content);
  for (const d of corpus.documents) texts.push(d.text);
  return texts;
}

export interface StarterMeta {
  recipeVersion: number;
  seed: number;
  corpusHash: string;
  corpusFiles: string[];
  createdAt: string;
  gguf: { file: string; bytes: number; sha256: string };
  tokenizer: { vocabSize: number; merges: number; pre: string };
  model: typeof STARTER_MODEL & { n_vocab: number; params: number | null };
  training: typeof STARTER_TRAINING & { threads: number; steps: number; trainRows: number; evalRows: number; trainTargets: number; evalTargets: number };
  results: {
    trainLoss: number | null;
    evalLoss: number | null;
    evalPpl: number | null;
    seconds: number;
  };
  systemPrompt: string;
  samples?: { question: string; answer: string }[];
  tools: { node: string; nodeLlamaCpp: string };
}

export function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}
