import type { ReactNode } from "react";

export function Panel({ title, description, children }: { title: string; description: string; children: ReactNode }) {
  return (
    <section
      aria-label={title}
      className="rounded-xl border border-zinc-200 bg-white p-4 shadow-xs dark:border-zinc-800 dark:bg-zinc-900/50"
    >
      <h2 className="text-sm font-semibold">{title}</h2>
      <p className="mt-0.5 text-xs text-zinc-500">{description}</p>
      <div className="mt-3">{children}</div>
    </section>
  );
}

export const inputClass =
  "w-full rounded-lg border border-zinc-200 bg-white px-3 py-1.5 text-sm placeholder:text-zinc-400 dark:placeholder:text-zinc-500 focus:border-accent-500 focus:outline-none focus:ring-2 focus:ring-accent-500/20 disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-950";

export const primaryButtonClass =
  "rounded-lg bg-accent-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-accent-700 disabled:cursor-not-allowed disabled:opacity-50";

export const secondaryButtonClass =
  "rounded-lg border border-zinc-200 px-3 py-1.5 text-sm font-medium text-zinc-700 hover:bg-zinc-100 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800";

export function FormError({ message }: { message: string }) {
  return (
    <p role="alert" className="mt-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900/60 dark:bg-red-950/40 dark:text-red-300">
      {message}
    </p>
  );
}

export function FormSuccess({ message }: { message: string }) {
  return (
    <p role="status" className="mt-2 text-sm text-emerald-700 dark:text-emerald-400">
      {message}
    </p>
  );
}
