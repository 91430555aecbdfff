import { CSRF_HEADER, hasRole, readCookie, SESSION_COOKIE, sessionFromToken } from "@/server/auth";
import { ready } from "@/server/bootstrap";
import { declaredLength, readBodyBytes } from "@/server/edge";
import { AtelierError, errorResponse } from "@/server/errors";
import { createDataset, maxUploadBytes, type UploadFile } from "@/server/studio";

// Dataset upload (multipart; tRPC batch links cannot carry files). Same rules as a tRPC editor
// mutation: a session cookie, the editor role and the CSRF header. All files or nothing.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

async function upload(req: Request): Promise<Response> {
  const db = await ready();
  const session = sessionFromToken(db, readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  if (!session) throw new AtelierError("unauthorized:auth", "Sign in to continue (your session may have expired).");
  if (!hasRole(session.user.role, "editor")) throw new AtelierError("forbidden:auth", `This needs the editor role; you are ${session.user.role}.`);
  if (req.headers.get(CSRF_HEADER) !== session.csrfToken) throw new AtelierError("forbidden:auth", "Missing or invalid CSRF token; reload the page and try again.");

  // The body is read under the limit (multipart overhead allowed for): a declared length over it
  // is refused unread, a chunked one is cut off at the limit.
  const limit = maxUploadBytes() + 1024 * 1024;
  const declared = declaredLength(req);
  if (declared !== null && declared > limit) {
    throw new AtelierError(
      "too_large:studio",
      `The upload is ${(declared / 1024 / 1024).toFixed(1)} MB; the limit is ${Math.round(maxUploadBytes() / 1024 / 1024)} MB (ATELIER_MAX_UPLOAD_MB). Nothing was imported.`,
    );
  }
  const bytes = await readBodyBytes(req, limit, "studio", "a dataset upload (ATELIER_MAX_UPLOAD_MB)");
  let form: FormData;
  try {
    form = await new Request(req.url, { method: "POST", headers: { "content-type": req.headers.get("content-type") ?? "" }, body: bytes }).formData();
  } catch {
    throw new AtelierError("bad_request:studio", "Expected a multipart/form-data body with a name and one or more files.");
  }
  const files: UploadFile[] = [];
  for (const entry of form.getAll("files")) {
    if (typeof entry === "string") throw new AtelierError("bad_request:studio", 'The "files" field must hold files, not text.');
    files.push({ name: entry.name || "upload", bytes: new Uint8Array(await entry.arrayBuffer()), mime: entry.type || null });
  }
  const name = form.get("name");
  const result = await createDataset(db, { name: typeof name === "string" ? name : null, files }, session);
  return Response.json(result, { headers: { "cache-control": "no-store" } });
}

export async function POST(req: Request): Promise<Response> {
  try {
    return await upload(req);
  } catch (err) {
    return errorResponse(err, "studio");
  }
}
