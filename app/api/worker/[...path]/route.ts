import { ready } from "@/server/bootstrap";
import { handleWorker } from "@/server/studio";

// The remote training workers' API (server/studio/remote/http.ts): worker token + per-run lease, never a session.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ path: string[] }> };
const handle = async (req: Request, ctx: Ctx) => handleWorker(req, await ready(), (await ctx.params).path);

export const GET = handle;
export const POST = handle;
export const PUT = handle;
