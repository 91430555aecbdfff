import { createTRPCClient, httpBatchStreamLink, splitLink } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { AppRouter } from "@/server/api/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type TRPCClient = ReturnType<typeof makeTRPCClient>;

const URL = "/api/trpc";

/** Echo the session's CSRF cookie in a header on every request (double-submit; see server/auth/cookies.ts). */
export function csrfHeaders(): Record<string, string> {
  if (typeof document === "undefined") return {};
  const match = document.cookie.match(/(?:^|;\s*)atelier_csrf=([^;]+)/);
  return match?.[1] ? { "x-atelier-csrf": decodeURIComponent(match[1]) } : {};
}

/** Procedures that stream for a long time; each gets its own request so aborting one really cancels it. */
const LONG_STREAMS = new Set(["chat.send", "models.download", "studio.runs.watch", "studio.compare"]);

export function makeTRPCClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => LONG_STREAMS.has(op.path),
        true: httpBatchStreamLink({ url: URL, maxItems: 1, headers: csrfHeaders }),
        false: httpBatchStreamLink({ url: URL, headers: csrfHeaders }),
      }),
    ],
  });
}
