import { CSRF_HEADER, SESSION_COOKIE, readCookie } from "@/server/auth/cookies";
import { hasRole } from "@/server/auth/roles";
import { sessionFromToken } from "@/server/auth/sessions";
import { ready } from "@/server/bootstrap";
import { AppError } from "@/server/errors";
import { createDataset, maxUploadBytes, StudioUploadError, type UploadFile } from "@/server/studio/datasets";

// Dataset upload (multipart; tRPC batch links cannot carry files). Same rules as a tRPC editor
// mutation: a session cookie, the editor role and the CSRF header. All files or nothing.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const STATUS: Record<AppError["code"], number> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  PRECONDITION_FAILED: 412,
  INTERNAL_SERVER_ERROR: 500,
};

function error(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  return Response.json({ error: { code, message, ...extra } }, { status, headers: { "cache-control": "no-store" } });
}

export async function POST(req: Request): Promise<Response> {
  const db = await ready();
  const session = sessionFromToken(db, readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  if (!session) return error(401, "UNAUTHORIZED", "Sign in to continue (your session may have expired).");
  if (!hasRole(session.user.role, "editor")) return error(403, "FORBIDDEN", `This needs the editor role; you are ${session.user.role}.`);
  if (req.headers.get(CSRF_HEADER) !== session.csrfToken) return error(403, "FORBIDDEN", "Missing or invalid CSRF token; reload the page and try again.");

  // Refuse an oversized body before reading it (multipart overhead allowed for).
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxUploadBytes() + 1024 * 1024) {
    return error(413, "PAYLOAD_TOO_LARGE", `The upload is ${(declared / 1024 / 1024).toFixed(1)} MB; the limit is ${Math.round(maxUploadBytes() / 1024 / 1024)} MB (ATELIER_MAX_UPLOAD_MB). Nothing was imported.`);
  }
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    return error(400, "BAD_REQUEST", "Expected a multipart/form-data body with a name and one or more files.");
  }
  const files: UploadFile[] = [];
  for (const entry of form.getAll("files")) {
    if (typeof entry === "string") return error(400, "BAD_REQUEST", 'The "files" field must hold files, not text.');
    files.push({ name: entry.name || "upload", bytes: new Uint8Array(await entry.arrayBuffer()), mime: entry.type || null });
  }
  const name = form.get("name");
  try {
    const result = await createDataset(db, { name: typeof name === "string" ? name : null, files }, session);
    return Response.json(result, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    if (err instanceof StudioUploadError) {
      const first = err.problems[0];
      return error(STATUS[err.code], err.code, err.message, {
        ...(first ? { file: first.file } : {}),
        ...(first?.line !== undefined ? { line: first.line } : {}),
        ...(err.problems.length ? { problems: err.problems } : {}),
      });
    }
    if (err instanceof AppError) return error(STATUS[err.code], err.code, err.message);
    console.error("[studio upload]", err);
    return error(500, "INTERNAL_SERVER_ERROR", "Internal error.");
  }
}
