import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { currentSession } from "@/app/_lib/current-session";
import { SetupForm } from "./setup-form";

export const metadata: Metadata = { title: "Set up" };

/** First start only: once any user exists this page is gone (the API refuses setup too). */
export default async function SetupPage() {
  const { session, needsSetup } = await currentSession();
  if (!needsSetup) redirect(session ? "/chat" : "/login");
  return <SetupForm />;
}
