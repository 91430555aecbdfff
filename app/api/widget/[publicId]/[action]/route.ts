import { ready } from "@/server/bootstrap";
import { handleWidget } from "@/server/edge";

// Public widget endpoints: plain JSON / NDJSON over fetch (no tRPC), keyed by the public id only.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

type Params = { params: Promise<{ publicId: string; action: string }> };

const handler = async (req: Request, { params }: Params) => {
  const { publicId, action } = await params;
  return handleWidget(req, publicId, action, ready);
};

export { handler as GET, handler as POST, handler as OPTIONS };
