import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { currentSession } from "@/app/_lib/current-session";
import { LoginForm } from "./login-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ expired?: string }> }) {
  const { session, needsSetup } = await currentSession();
  if (needsSetup) redirect("/setup");
  if (session) redirect("/chat");
  const { expired } = await searchParams;
  return <LoginForm expired={expired === "1"} />;
}
