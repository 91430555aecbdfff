// Requests Next.js cannot route (server/edge/request-guard.ts sends them here before it tries):
// a path that is not valid percent-encoding (400), or a method other than GET/HEAD on a static
// file (405). JSON, like every other API error.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function answer(req: Request): Response {
  const reason = new URL(req.url).searchParams.get("reason");
  const headers = { "cache-control": "no-store" };
  if (reason === "method") {
    return Response.json({ error: { code: "method_not_allowed:server", message: "Static files answer GET and HEAD only." } }, { status: 405, headers: { ...headers, allow: "GET, HEAD" } });
  }
  return Response.json({ error: { code: "bad_request:server", message: "The request path is not valid percent-encoding." } }, { status: 400, headers });
}

export { answer as GET, answer as HEAD, answer as POST, answer as PUT, answer as PATCH, answer as DELETE, answer as OPTIONS };
