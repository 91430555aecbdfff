import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/api/root";
import { createContext } from "@/server/api/trpc";

// The engine keeps native state per process; never run this route on the edge or cache it.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext,
    // no-transform: Next's gzip would otherwise compress every streamed token chunk on its own
    // (the top CPU cost per token in a server profile); answers are small, tokens are many.
    responseMeta: () => ({ headers: { "cache-control": "no-store, no-transform" } }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`[trpc] ${path ?? "?"}:`, error.cause ?? error);
    },
  });

export { handler as GET, handler as POST };
