import { ready } from "@/server/bootstrap";
import { env } from "@/server/env";
import { chatCompletions, completionBodyLimit, wrongMethod } from "@/server/edge";

// OpenAI-compatible API (see server/edge/openai/): authenticated by per-assistant keys, never by session.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = (req: Request) => chatCompletions(req, ready, completionBodyLimit(env().ATELIER_MAX_REQUEST_CHARS));
const notAllowed = (req: Request) => wrongMethod(req, "POST");
export { notAllowed as GET, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
