import { unknownRoute } from "@/server/edge";

// Every other /v1 path: OpenAI clients expect a JSON error, not Next's HTML 404 page.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export { unknownRoute as GET, unknownRoute as POST, unknownRoute as PUT, unknownRoute as PATCH, unknownRoute as DELETE };
