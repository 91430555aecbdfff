import { readCookie, SESSION_COOKIE, sessionFromToken } from "@/server/auth";
import { ready } from "@/server/bootstrap";
import { EXPORT_FORMATS, exportConversations, type ExportFormat } from "@/server/chat";
import { AtelierError, errorResponse } from "@/server/errors";

// GET /api/chat/export?format=markdown|json[&conversationId=…]: a download of the signed-in
// user's own console conversations (all of them, or one). A plain GET so a link can download it;
// it reads only, so it needs the session cookie but no CSRF token.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

async function download(req: Request): Promise<Response> {
  const db = await ready();
  const session = sessionFromToken(db, readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  if (!session) throw new AtelierError("unauthorized:auth", "Sign in to continue (your session may have expired).");
  const params = new URL(req.url).searchParams;
  const format = params.get("format") ?? "markdown";
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new AtelierError("bad_request:chat", `Unknown export format "${format.slice(0, 40)}"; use ${EXPORT_FORMATS.join(" or ")}.`);
  }
  const conversationId = params.get("conversationId")?.slice(0, 100) || undefined;
  const out = exportConversations(db, session.user, { format: format as ExportFormat, conversationId });
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await out.chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    cancel() {
      void out.chunks.return(undefined);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": out.contentType,
      "content-disposition": `attachment; filename="${out.fileName}"`,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

export async function GET(req: Request): Promise<Response> {
  try {
    return await download(req);
  } catch (err) {
    return errorResponse(err, "[chat export]");
  }
}
