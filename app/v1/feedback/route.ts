import { ready } from "@/server/bootstrap";
import { chatFeedback } from "@/server/edge";

// OpenAI-compatible API extension: rate an answer by its completion id (see server/edge/openai/feedback.ts).
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = (req: Request) => chatFeedback(req, ready);
