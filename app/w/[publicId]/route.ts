import { ready } from "@/server/bootstrap";
import { framePage } from "@/server/edge";

// The chat page inside the widget's iframe: plain HTML with a CSP whose frame-ancestors is the
// assistant's allowlist (a route handler, so the header is per assistant).
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(_req: Request, { params }: { params: Promise<{ publicId: string }> }) {
  const { publicId } = await params;
  return framePage(publicId, ready);
}
