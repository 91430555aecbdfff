"use client";

import { useId, type InputHTMLAttributes } from "react";

const inputClass =
  "w-full rounded-lg border border-zinc-200 bg-white px-3 py-2 text-sm placeholder:text-zinc-400 focus:border-accent-500 focus:outline-none focus:ring-2 focus:ring-accent-500/20 disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-950";

/**
 * A labelled input for the sign-in and setup forms. The hint is the field's description
 * (aria-describedby), not part of its label: a screen reader says "Password, edit text, at least
 * 10 characters", not "Password at least 10 characters".
 */
export function Field({ label, hint, id, ...props }: { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const auto = useId();
  const inputId = id ?? auto;
  const hintId = `${inputId}-hint`;
  return (
    <div>
      <label htmlFor={inputId} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
        {label}
      </label>
      <input id={inputId} className={inputClass} aria-describedby={hint ? hintId : undefined} {...props} />
      {hint && (
        <p id={hintId} className="mt-1 text-xs text-zinc-500">
          {hint}
        </p>
      )}
    </div>
  );
}

export const submitClass =
  "w-full rounded-lg bg-accent-600 px-3 py-2 text-sm font-medium text-white hover:bg-accent-700 disabled:cursor-not-allowed disabled:opacity-50";

export function FormAlert({ message, testId }: { message: string; testId: string }) {
  return (
    <p role="alert" data-testid={testId} className="whitespace-pre-line rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900/60 dark:bg-red-950/40 dark:text-red-300">
      {message}
    </p>
  );
}
