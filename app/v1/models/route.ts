import { listModels } from "@/server/openai/http";

// OpenAI-compatible API (see server/openai/): authenticated by per-assistant keys, never by session.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = (req: Request) => listModels(req);
