import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { SessionProvider } from "@/app/_lib/session";
import { currentSession } from "@/app/_lib/current-session";
import { ConsoleShell } from "./_components/console-shell";

/** The gate: no user yet → /setup; no live session → /login (with a notice when the cookie had expired). */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const { session, hadCookie, needsSetup } = await currentSession();
  if (needsSetup) redirect("/setup");
  if (!session) redirect(hadCookie ? "/login?expired=1" : "/login");
  return (
    <SessionProvider user={session.user}>
      <ConsoleShell>{children}</ConsoleShell>
    </SessionProvider>
  );
}
