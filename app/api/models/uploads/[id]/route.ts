import { AtelierError } from "@/server/errors";
import { appendModelChunk, cancelModelUpload, modelUploadState, UPLOAD_CHUNK_BYTES } from "@/server/models";
import { adminRequest, handle } from "../_lib";

// GET    /api/models/uploads/<id>            → { id, received, size, chunkBytes } (where to resume)
// PUT    /api/models/uploads/<id>?offset=N   body: the next bytes (application/octet-stream, ≤ chunkBytes)
// DELETE /api/models/uploads/<id>            cancels and deletes what was received
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

export function GET(req: Request, ctx: Ctx): Promise<Response> {
  return handle(async () => {
    const { session } = await adminRequest(req, { write: false });
    return modelUploadState(session.user.id, (await ctx.params).id);
  });
}

export function PUT(req: Request, ctx: Ctx): Promise<Response> {
  return handle(async () => {
    const { session } = await adminRequest(req, { write: true });
    const declared = Number(req.headers.get("content-length") ?? "-1");
    if (declared > UPLOAD_CHUNK_BYTES) throw new AtelierError("too_large:model", `A chunk may be at most ${UPLOAD_CHUNK_BYTES} bytes.`);
    const offset = Number(new URL(req.url).searchParams.get("offset"));
    const body = new Uint8Array(await req.arrayBuffer());
    return appendModelChunk(session.user.id, (await ctx.params).id, offset, body);
  });
}

export function DELETE(req: Request, ctx: Ctx): Promise<Response> {
  return handle(async () => {
    const { session } = await adminRequest(req, { write: true });
    return cancelModelUpload(session.user.id, (await ctx.params).id);
  });
}
