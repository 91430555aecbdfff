import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ForgeError } from "../errors";
import { mergeLora } from "../trainer";
import { dominantDenseType, meta, openGguf, readTensor, type GgufModel } from "./gguf-tensors";
import { hfConfig, hfModule, hfTensorName, modelShape, permutedHeads, unpermuteRows } from "./hf-layout";
import { hfTokenizerFiles } from "./hf-tokenizer";
import { writeSafetensors, type SafeDtype, type SafeTensorSpec } from "./safetensors";

/*
 * Hugging Face formats out of Atelier's GGUFs, so transformers, vLLM and TGI load what Atelier
 * trained: a model (base, full fine-tune, or a LoRA merged into its base by forge) as
 * config.json + model.safetensors + tokenizer files, and a LoRA as a PEFT adapter
 * (adapter_config.json + adapter_model.safetensors).
 */

export type HfDtype = "f32" | "f16" | "bf16";
const SAFE: Record<HfDtype, SafeDtype> = { f32: "F32", f16: "F16", bf16: "BF16" };
const TORCH: Record<HfDtype, string> = { f32: "float32", f16: "float16", bf16: "bfloat16" };

const writeJson = (file: string, value: unknown) => fs.writeFile(file, JSON.stringify(value, null, 2) + "\n");

/** The tensors of a model in HF order and names, un-permuted where llama needs it. */
function modelTensors(model: GgufModel, dtype: SafeDtype): SafeTensorSpec[] {
  const shape = modelShape(model);
  const specs: SafeTensorSpec[] = [];
  for (const t of model.tensors.values()) {
    const base = t.name.replace(/\.(weight|bias)$/, "");
    const heads = permutedHeads(shape, base);
    const rows = t.ne.length > 1 ? t.ne[1]! : t.ne[0]!;
    const cols = t.ne.length > 1 ? t.ne[0]! : 1;
    specs.push({
      name: hfTensorName(t.name),
      shape: [...t.ne].reverse(),
      dtype,
      data: async () => unpermuteRows(await readTensor(model, t.name), rows, cols, heads),
    });
  }
  return specs;
}

/** Writes a (non-adapter) GGUF as a Hugging Face model directory. */
export async function exportHfModel(args: { model: string; out: string; dtype?: HfDtype }): Promise<{ out: string; files: string[] }> {
  const model = await openGguf(args.model);
  if (meta(model, "general.type") === "adapter") throw new ForgeError("BAD_CONFIG", `${args.model} is a LoRA adapter: give --base and --lora (merged) or --peft.`);
  const shape = modelShape(model);
  const dtype = args.dtype ?? dominantDenseType(model);
  await fs.mkdir(args.out, { recursive: true });
  const tok = hfTokenizerFiles(model, shape.nCtx);
  await writeSafetensors(path.join(args.out, "model.safetensors"), modelTensors(model, SAFE[dtype]));
  await writeJson(path.join(args.out, "config.json"), hfConfig(shape, TORCH[dtype], { bos: tok.bos, eos: tok.eos }));
  await writeJson(path.join(args.out, "generation_config.json"), { bos_token_id: tok.bos, eos_token_id: tok.eos, do_sample: true });
  for (const name of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] as const) await writeJson(path.join(args.out, name), tok[name]);
  return { out: args.out, files: ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] };
}

/** Merges a LoRA into its base with forge (F32, nothing lost) and writes the result as a Hugging Face model. */
export async function exportHfMerged(args: { base: string; lora: string; out: string; dtype?: HfDtype }): Promise<{ out: string; files: string[] }> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "atelier-hf-merge-"));
  try {
    const merged = path.join(tmp, "merged.gguf");
    await mergeLora({ base: args.base, lora: args.lora, out: merged, type: "f32" });
    const dtype = args.dtype ?? dominantDenseType(await openGguf(args.base));
    return await exportHfModel({ model: merged, out: args.out, dtype });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Writes a GGUF LoRA adapter (llama.cpp's format: blk.N.attn_q.weight.lora_a [in → r] and
 * .lora_b [r → out], scale alpha / r) as a PEFT adapter: lora_A [r, in], lora_B [out, r],
 * lora_alpha = alpha, so PEFT's scaling alpha / r is llama.cpp's. lora_B of llama's Q/K gets
 * the same row un-permutation as the weight it updates (ΔW = B·A; rows of ΔW are rows of B).
 */
export async function exportPeftAdapter(args: { base: string; lora: string; out: string; dtype?: HfDtype; baseName?: string }): Promise<{ out: string; files: string[] }> {
  const base = await openGguf(args.base);
  const lora = await openGguf(args.lora);
  if (meta(lora, "general.type") !== "adapter" || meta(lora, "adapter.type") !== "lora") throw new ForgeError("BAD_CONFIG", `${args.lora} is not a LoRA adapter GGUF.`);
  if (meta(lora, "general.architecture") !== meta(base, "general.architecture")) {
    throw new ForgeError("BAD_CONFIG", `${args.lora} is a ${String(meta(lora, "general.architecture"))} adapter; ${args.base} is ${String(meta(base, "general.architecture"))}.`);
  }
  const shape = modelShape(base);
  const dtype = SAFE[args.dtype ?? "f32"];
  const alpha = meta(lora, "adapter.lora.alpha");
  const pairs = new Map<string, { a?: string; b?: string }>();
  for (const name of lora.tensors.keys()) {
    const m = /^(.+)\.weight\.lora_(a|b)$/.exec(name);
    if (!m) throw new ForgeError("BAD_CONFIG", `unexpected tensor ${name} in ${args.lora}`);
    const p = pairs.get(m[1]!) ?? {};
    p[m[2] as "a" | "b"] = name;
    pairs.set(m[1]!, p);
  }
  let rank: number | null = null;
  const targets = new Set<string>();
  const specs: SafeTensorSpec[] = [];
  for (const [ggufBase, p] of pairs) {
    if (!p.a || !p.b) throw new ForgeError("BAD_CONFIG", `${args.lora}: ${ggufBase} has lora_a without lora_b or the reverse`);
    const a = lora.tensors.get(p.a)!;
    const b = lora.tensors.get(p.b)!;
    const [inDim, r] = a.ne as [number, number];
    const [rB, outDim] = b.ne as [number, number];
    if (r !== rB) throw new ForgeError("BAD_CONFIG", `${ggufBase}: lora_a rank ${r} ≠ lora_b rank ${rB}`);
    if (rank !== null && rank !== r) throw new ForgeError("BAD_CONFIG", `${args.lora} mixes ranks ${rank} and ${r}; PEFT's adapter_config has one r.`);
    rank = r;
    const module = hfModule(ggufBase);
    targets.add(module.split(".").at(-1)!);
    const heads = permutedHeads(shape, ggufBase);
    const prefix = `base_model.model.${module}`;
    specs.push({ name: `${prefix}.lora_A.weight`, shape: [r, inDim], dtype, data: () => readTensor(lora, p.a!) });
    specs.push({ name: `${prefix}.lora_B.weight`, shape: [outDim, r], dtype, data: async () => unpermuteRows(await readTensor(lora, p.b!), outDim, r, heads) });
  }
  if (rank === null) throw new ForgeError("BAD_CONFIG", `${args.lora} has no LoRA tensors.`);
  await fs.mkdir(args.out, { recursive: true });
  await writeSafetensors(path.join(args.out, "adapter_model.safetensors"), specs);
  await writeJson(path.join(args.out, "adapter_config.json"), {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: args.baseName ?? String(meta(base, "general.name") ?? path.basename(args.base, ".gguf")),
    r: rank,
    // llama.cpp scales by alpha / rank, and with no alpha stored by 1: the same as alpha = rank.
    lora_alpha: typeof alpha === "number" && alpha > 0 ? alpha : rank,
    lora_dropout: 0.0,
    target_modules: [...targets].sort(),
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
  });
  return { out: args.out, files: ["adapter_config.json", "adapter_model.safetensors"] };
}
