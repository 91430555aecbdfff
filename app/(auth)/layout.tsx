import type { ReactNode } from "react";

/** Sign-in and first-start screens: a centred card, outside the console shell. */
export default function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <main className="grid min-h-dvh place-items-center bg-zinc-50 px-4 dark:bg-zinc-950">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2">
          <span aria-hidden="true" className="grid size-7 place-items-center rounded-md bg-accent-600 text-sm font-bold text-white">
            A
          </span>
          <span className="text-base font-semibold tracking-tight">Atelier</span>
        </div>
        <div className="rounded-xl border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">{children}</div>
      </div>
    </main>
  );
}
