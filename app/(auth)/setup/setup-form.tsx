"use client";

import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { Field, FormAlert, submitClass } from "../_components/field";

const MIN = 10;

export function SetupForm() {
  const trpc = useTRPC();
  const [form, setForm] = useState({ email: "", name: "", password: "", confirm: "" });
  const [problem, setProblem] = useState<string | null>(null);
  const setup = useMutation(trpc.auth.setup.mutationOptions({ onSuccess: () => window.location.assign("/chat") }));
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (setup.isPending) return;
    // The server checks the same; saying it here saves a round trip.
    if (form.password.length < MIN) return setProblem(`The password needs at least ${MIN} characters.`);
    if (form.password !== form.confirm) return setProblem("The two passwords differ.");
    setProblem(null);
    setup.mutate(form);
  };

  const message = problem ?? (setup.isError ? errorMessage(setup.error) : null);
  return (
    <form onSubmit={submit} className="space-y-4" data-testid="setup-form">
      <div>
        <h1 className="text-lg font-semibold">Welcome to Atelier</h1>
        <p className="mt-1 text-sm text-zinc-500">Create the first admin account. You can add other people later under Users.</p>
      </div>
      <Field label="Email" type="email" autoComplete="username" required autoFocus value={form.email} onChange={set("email")} data-testid="setup-email" />
      <Field label="Name" autoComplete="name" required maxLength={100} value={form.name} onChange={set("name")} data-testid="setup-name" />
      <Field label="Password" type="password" autoComplete="new-password" required hint={`At least ${MIN} characters.`} value={form.password} onChange={set("password")} data-testid="setup-password" />
      <Field label="Confirm password" type="password" autoComplete="new-password" required value={form.confirm} onChange={set("confirm")} data-testid="setup-confirm" />
      {message && <FormAlert testId="setup-error" message={message} />}
      <button type="submit" className={submitClass} disabled={setup.isPending || setup.isSuccess} data-testid="setup-submit">
        {setup.isPending ? "Creating…" : "Create admin and sign in"}
      </button>
    </form>
  );
}
