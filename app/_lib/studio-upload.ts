import { csrfHeaders } from "./trpc";
import type { UploadProblem, UploadResult } from "./studio-types";

export const UPLOAD_URL = "/api/studio/datasets";
/** What the picker offers; the server is the judge of what is really accepted. */
export const UPLOAD_ACCEPT = ".txt,.md,.markdown,.jsonl,.json,.csv,.pdf,.docx,text/plain,text/markdown,application/jsonl,application/pdf";

export type UploadOutcome = { ok: true; result: UploadResult } | { ok: false; problems: UploadProblem[] };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function toProblem(v: unknown): UploadProblem | null {
  if (!isObj(v) || typeof v.message !== "string") return null;
  return {
    code: typeof v.code === "string" ? v.code : "BAD_REQUEST",
    message: v.message,
    ...(typeof v.file === "string" ? { file: v.file } : {}),
    ...(typeof v.line === "number" ? { line: v.line } : {}),
  };
}

/**
 * Reads the upload route's answer: the dataset, or `{ error }` whose `problems` list (one per failing
 * file, each with its file and line) is shown in full rather than only the first.
 */
export function parseUploadResponse(status: number, bodyText: string): UploadOutcome {
  let body: unknown = null;
  try {
    body = bodyText ? JSON.parse(bodyText) : null;
  } catch {
    /* not JSON: fall through to a status-based message */
  }
  if (status >= 200 && status < 300 && isObj(body) && isObj(body.dataset)) {
    return { ok: true, result: body as unknown as UploadResult };
  }
  const problems: UploadProblem[] = [];
  if (isObj(body) && isObj(body.error)) {
    const single = toProblem(body.error);
    // One problem per failing file (the server parses all of them before refusing the upload).
    const list = Array.isArray(body.error.problems) ? body.error.problems : [];
    for (const e of list) {
      const p = toProblem({ code: single?.code, ...(isObj(e) ? e : {}) });
      if (p) problems.push(p);
    }
    if (problems.length === 0 && single) problems.push(single);
  }
  if (problems.length === 0) {
    const message =
      status === 401
        ? "Your session has expired. Sign in again."
        : status === 403
          ? "You need the editor role to upload datasets."
          : status === 413
            ? "The files are too large to upload."
            : status === 0
              ? "The upload did not reach the server. Check your connection."
              : `The upload failed (HTTP ${status}).`;
    problems.push({ code: String(status), message });
  }
  return { ok: false, problems };
}

/** multipart POST with upload progress (fetch can't report it) and the CSRF header. */
export function uploadDataset(
  input: { name: string; files: File[] },
  opts: { onProgress?: (fraction: number) => void; signal?: AbortSignal } = {},
): Promise<UploadOutcome> {
  const form = new FormData();
  form.set("name", input.name);
  for (const f of input.files) form.append("files", f, f.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", UPLOAD_URL);
    for (const [k, v] of Object.entries(csrfHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => e.lengthComputable && opts.onProgress?.(e.loaded / e.total);
    xhr.onload = () => resolve(parseUploadResponse(xhr.status, xhr.responseText));
    xhr.onerror = () => resolve(parseUploadResponse(0, ""));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    opts.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
