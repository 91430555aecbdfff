import { ready } from "@/server/bootstrap";
import { chatCompletions } from "@/server/edge";

// OpenAI-compatible API (see server/edge/openai/): authenticated by per-assistant keys, never by session.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = (req: Request) => chatCompletions(req, ready);
