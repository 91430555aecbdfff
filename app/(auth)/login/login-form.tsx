"use client";

import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { Field, FormAlert, submitClass } from "../_components/field";

export function LoginForm({ expired }: { expired: boolean }) {
  const trpc = useTRPC();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  // A full navigation, so the console layout runs again with the new cookie.
  const login = useMutation(trpc.auth.login.mutationOptions({ onSuccess: () => window.location.assign("/chat") }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (login.isPending) return;
    login.mutate({ email, password });
  };

  return (
    <form onSubmit={submit} className="space-y-4" data-testid="login-form">
      <h1 className="text-lg font-semibold">Sign in</h1>
      {expired && !login.isError && (
        <p role="status" data-testid="session-expired" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900/60 dark:bg-amber-950/40 dark:text-amber-200">
          Your session expired; sign in again.
        </p>
      )}
      <Field label="Email" type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} data-testid="login-email" />
      <Field label="Password" type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} data-testid="login-password" />
      {login.isError && <FormAlert testId="login-error" message={errorMessage(login.error)} />}
      <button type="submit" className={submitClass} disabled={login.isPending || login.isSuccess} data-testid="login-submit">
        {login.isPending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
