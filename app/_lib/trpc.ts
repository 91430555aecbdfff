import { createTRPCClient, httpBatchStreamLink, httpLink, splitLink, type TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";
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
const LONG_STREAMS = new Set(["chat.send", "models.download", "assistants.tryIt", "studio.runs.watch", "studio.compare"]);

/**
 * A console call refused as UNAUTHORIZED means the session ended (expired, signed out elsewhere,
 * disabled): go to the sign-in screen. auth.* calls report their own errors (wrong password).
 */
const redirectWhenSignedOut: TRPCLink<AppRouter> = () => ({ op, next }) =>
  observable((observer) =>
    next(op).subscribe({
      next: (v) => observer.next(v),
      complete: () => observer.complete(),
      error: (err) => {
        if (err.data?.code === "UNAUTHORIZED" && !op.path.startsWith("auth.") && typeof window !== "undefined") {
          window.location.assign("/login?expired=1");
        }
        observer.error(err);
      },
    }),
  );

export function makeTRPCClient() {
  return createTRPCClient<AppRouter>({
    links: [
      redirectWhenSignedOut,
      splitLink({
        // Sign-in, setup and sign-out set cookies; a streamed response sends its headers before the
        // procedure runs, so these go as plain requests.
        condition: (op) => op.path.startsWith("auth."),
        true: httpLink({ url: URL, headers: csrfHeaders }),
        false: splitLink({
          condition: (op) => LONG_STREAMS.has(op.path),
          true: httpBatchStreamLink({ url: URL, maxItems: 1, headers: csrfHeaders }),
          false: httpBatchStreamLink({ url: URL, headers: csrfHeaders }),
        }),
      }),
    ],
  });
}
