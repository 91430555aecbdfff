import { AtelierError } from "@/server/errors";
import { completeModelUpload, uploadCompleteInput } from "@/server/models";
import { adminRequest, handle, jsonBody } from "../../_lib";

// POST /api/models/uploads/<id>/complete { sha256 } → the registered model. The server hashes its
// copy, compares it with the browser's SHA-256, validates the GGUF, then registers it.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function POST(req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return handle(async () => {
    const { db, session } = await adminRequest(req, { write: true });
    const parsed = uploadCompleteInput.safeParse(await jsonBody(req));
    if (!parsed.success) throw new AtelierError("bad_request:model", parsed.error.issues.map((i) => i.message).join(" "));
    return completeModelUpload(db, session.user.id, (await ctx.params).id, parsed.data);
  });
}
