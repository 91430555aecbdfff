// Tasks the parse worker runs (off-thread.ts): the same parsers, in the worker's own thread.
import { parseDocumentHere, type ParseInput, type ParseOptions } from "./index";

export function parseDocument(input: ParseInput, options: ParseOptions) {
  return parseDocumentHere(input, options);
}
