// Runs once when the Next.js server starts, before it serves a request.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // The socket's peer address for clientIp() (server/edge/peer.ts explains why a header is needed).
  const { stampPeersOnRequests } = await import("./server/edge/peer");
  stampPeersOnRequests();
  // Requests Next.js would answer with a bare 500 go to a route that says what is wrong.
  const { guardRequests } = await import("./server/edge/request-guard");
  guardRequests();
}
