"use client";

import { usePathname } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import { CloseIcon, MenuIcon } from "@/app/_components/icons";
import { useMediaQuery } from "@/app/_lib/use-media-query";
import { KeyboardShortcuts } from "./shortcuts";
import { Sidebar } from "./sidebar";

/** Sidebar + main area. Below md the sidebar becomes a drawer toggled from a slim top bar. */
export function ConsoleShell({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const pathname = usePathname();
  const desktop = useMediaQuery("(min-width: 768px)");
  // The off-canvas drawer must not be reachable by keyboard or screen readers while closed.
  const hidden = !desktop && !open;

  useEffect(() => setOpen(false), [pathname]);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  return (
    <div className="flex h-dvh overflow-hidden">
      <KeyboardShortcuts />
      {open && (
        <div
          className="fixed inset-0 z-30 bg-zinc-950/40 backdrop-blur-[1px] md:hidden"
          onClick={() => setOpen(false)}
          aria-hidden="true"
        />
      )}
      <aside
        id="sidebar"
        inert={hidden}
        className={`fixed inset-y-0 left-0 z-40 w-72 shrink-0 border-r border-zinc-200 bg-zinc-50 transition-transform duration-200 md:static md:translate-x-0 dark:border-zinc-800 dark:bg-zinc-900 ${
          open ? "translate-x-0 shadow-xl" : "-translate-x-full"
        }`}
      >
        <Sidebar />
        <button
          type="button"
          onClick={() => setOpen(false)}
          className="absolute right-3 top-3.5 rounded-md p-1.5 text-zinc-500 hover:bg-zinc-200 md:hidden dark:hover:bg-zinc-800"
          aria-label="Close sidebar"
        >
          <CloseIcon />
        </button>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-12 shrink-0 items-center gap-2 border-b border-zinc-200 px-3 md:hidden dark:border-zinc-800">
          <button
            type="button"
            onClick={() => setOpen(true)}
            className="rounded-md p-1.5 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
            aria-label="Open sidebar"
            aria-controls="sidebar"
            aria-expanded={open}
          >
            <MenuIcon width={18} height={18} />
          </button>
          <span className="text-sm font-semibold">Atelier</span>
        </header>
        <main className="min-h-0 flex-1">{children}</main>
      </div>
    </div>
  );
}
