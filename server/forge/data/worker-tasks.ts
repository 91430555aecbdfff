// Tasks the parse worker runs (documents/off-thread.ts): forge's record parser in the worker's own thread.
import { parseTrainingFileHere } from "./records";

export function parseTrainingFile(file: { name: string; bytes: Uint8Array; mime?: string | null }, maxBytes: number) {
  return parseTrainingFileHere(file, maxBytes);
}
