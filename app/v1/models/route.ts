import { ready } from "@/server/bootstrap";
import { listModels, wrongMethod } from "@/server/edge";

// OpenAI-compatible API (see server/edge/openai/): authenticated by per-assistant keys, never by session.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = (req: Request) => listModels(req, ready);
const notAllowed = (req: Request) => wrongMethod(req, "GET");
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
