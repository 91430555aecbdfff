import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/api/root";
import { boundedTrpcRequest } from "@/server/api/request-limits";
import { createContext } from "@/server/api/trpc";
import { ready } from "@/server/bootstrap";

// The engine keeps native state per process; never run this route on the edge or cache it.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const handler = async (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    // The body is read under the caller's limit before tRPC parses it (server/api/request-limits.ts).
    req: await boundedTrpcRequest(req, await ready()),
    router: appRouter,
    createContext,
    // no-transform: Next's gzip would otherwise compress every streamed token chunk on its own
    // (the top CPU cost per token in a server profile); answers are small, tokens are many.
    responseMeta: () => ({ headers: { "cache-control": "no-store, no-transform" } }),
  });

export { handler as GET, handler as POST };
