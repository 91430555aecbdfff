import "server-only";
import fs from "node:fs/promises";
import os from "node:os";
import { GgmlType, GgufInsights, readGgufFileInfo } from "node-llama-cpp";
import { EngineError } from "./errors";
import { llamaInstance } from "./llama";

export type GgufFacts = {
  sizeBytes: number;
  architecture: string | null;
  contextLength: number | null;
  quantization: string | null;
  parameters: number | null;
  fitsInMemory: boolean;
  isAdapter: boolean;
  name: string | null;
};

const GGUF_MAGIC = Buffer.from("GGUF", "ascii");

/** Reads a GGUF's header and tensor table and checks it is complete, without loading weights. */
export async function inspectGguf(filePath: string): Promise<GgufFacts> {
  let stat;
  try {
    stat = await fs.stat(filePath);
  } catch {
    throw new EngineError("MODEL_FILE_MISSING", `Model file not found: ${filePath}`);
  }
  if (!stat.isFile()) throw new EngineError("MODEL_FILE_INVALID", `Not a file: ${filePath}`);

  const head = Buffer.alloc(4);
  const fh = await fs.open(filePath, "r");
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (!head.equals(GGUF_MAGIC)) {
    throw new EngineError("MODEL_FILE_INVALID", `${filePath} is not a GGUF file (it does not start with the "GGUF" magic bytes).`);
  }

  let info;
  try {
    info = await readGgufFileInfo(filePath, { sourceType: "filesystem", logWarnings: false });
  } catch (err) {
    throw new EngineError("MODEL_FILE_INVALID", `${filePath} is a damaged GGUF file: ${(err as Error).message}`, { cause: err });
  }

  const generalType = (info.metadata.general as { type?: string } | undefined)?.type;
  const isAdapter = generalType === "adapter";
  const llama = await llamaInstance();
  const insights = await GgufInsights.from(info, llama);

  const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
  if (tensors.length > 0) {
    const firstOffset = tensors.reduce((min, t) => Math.min(min, Number(t.fileOffset)), Infinity);
    const needed = firstOffset + insights.modelSize;
    if (needed > stat.size) {
      throw new EngineError(
        "MODEL_FILE_INVALID",
        `${filePath} is truncated: its tensors need ${needed.toLocaleString("en")} bytes but the file has ${stat.size.toLocaleString("en")}.`,
      );
    }
  }

  const dominant = insights.dominantTensorType;
  const arch = info.metadata.general?.architecture ?? null;
  const contextLength = isAdapter ? null : (insights.trainContextSize ?? null);
  const ram = isAdapter ? stat.size : insights.estimateModelResourceRequirements({ gpuLayers: 0 }).cpuRam;
  return {
    sizeBytes: stat.size,
    architecture: arch ? String(arch) : null,
    contextLength,
    quantization: dominant === undefined ? null : (GgmlType[dominant] ?? null),
    parameters: insights.totalParameters || null,
    // Leave a quarter of free memory for contexts, the app and the OS.
    fitsInMemory: ram < os.freemem() * 0.75 || ram < os.totalmem() * 0.5,
    isAdapter,
    name: info.metadata.general?.name ? String(info.metadata.general.name) : null,
  };
}
