import { chatCompletions } from "@/server/openai/http";

// OpenAI-compatible API (see server/openai/): authenticated by per-assistant keys, never by session.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = (req: Request) => chatCompletions(req);
