import { sql } from "drizzle-orm";
import { ready } from "@/server/bootstrap";

// Liveness and readiness for load balancers and container health checks: 200 once the database
// is open and answers, 503 otherwise. Public, cheap, no details.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  try {
    const db = await ready();
    db.get(sql`SELECT 1`);
    return Response.json({ status: "ok" }, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    console.error("[health] the database is not available:", err);
    return Response.json({ status: "unavailable" }, { status: 503, headers: { "cache-control": "no-store" } });
  }
}
