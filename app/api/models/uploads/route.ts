import { AtelierError } from "@/server/errors";
import { startModelUpload, uploadStartInput } from "@/server/models";
import { adminRequest, handle, jsonBody } from "./_lib";

// POST /api/models/uploads { fileName, size, name?, baseModelId?, resumeKey? } → { id, received, size, chunkBytes }
// Starts a GGUF upload from the browser, or resumes the user's unfinished upload of the same file.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function POST(req: Request): Promise<Response> {
  return handle(async () => {
    const { db, session } = await adminRequest(req, { write: true });
    const parsed = uploadStartInput.safeParse(await jsonBody(req));
    if (!parsed.success) throw new AtelierError("bad_request:model", parsed.error.issues.map((i) => i.message).join(" "));
    return startModelUpload(db, session.user.id, parsed.data);
  });
}
