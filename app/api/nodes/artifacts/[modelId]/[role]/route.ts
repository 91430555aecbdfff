import { ready } from "@/server/bootstrap";
import { errorResponse } from "@/server/errors";
import { serveArtifact } from "@/server/nodes";

// Model files for Atelier inference nodes (server/nodes/sync.ts): only links this server signed with the node's token.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(req: Request, ctx: { params: Promise<{ modelId: string; role: string }> }) {
  try {
    const { modelId, role } = await ctx.params;
    return await serveArtifact(await ready(), req, modelId, role);
  } catch (err) {
    return errorResponse(err, "[nodes]");
  }
}
