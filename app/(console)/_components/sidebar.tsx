"use client";

import Link from "next/link";
import { useState } from "react";
import { PlusIcon, SearchIcon } from "@/app/_components/icons";
import { useDebounced } from "@/app/_lib/use-debounced";
import { ThemeToggle } from "@/app/_components/theme-toggle";
import { BackendStatus } from "./backend-status";
import { ExportMenu } from "./export-menu";
import { ConversationList } from "./conversation-list";
import { NavLinks } from "./nav-links";
import { UserMenu } from "./user-menu";

export function Sidebar() {
  const [search, setSearch] = useState("");
  const debounced = useDebounced(search.trim(), 200);

  return (
    <div className="flex h-full flex-col">
      <div className="flex items-center gap-2 px-4 pb-2 pt-4">
        <span
          aria-hidden="true"
          className="grid size-6 place-items-center rounded-md bg-accent-600 text-xs font-bold text-white"
        >
          A
        </span>
        <span className="text-sm font-semibold tracking-tight">Atelier</span>
      </div>

      <NavLinks />

      <div className="space-y-2 px-3 pt-3">
        <Link
          href="/chat"
          data-testid="new-chat"
          title="New chat (Ctrl+Shift+O)"
          className="flex w-full items-center justify-center gap-2 rounded-lg border border-zinc-200 bg-white px-3 py-2 text-sm font-medium shadow-xs hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-800 dark:hover:bg-zinc-700"
        >
          <PlusIcon /> New chat
        </Link>
        <label className="relative block">
          <span className="sr-only">Search conversations</span>
          <SearchIcon className="pointer-events-none absolute left-2.5 top-1/2 -translate-y-1/2 text-zinc-400" />
          <input
            type="search"
            data-testid="search-conversations"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Search chats"
            className="w-full rounded-lg border border-zinc-200 bg-white py-1.5 pl-8 pr-2 text-sm placeholder:text-zinc-400 dark:placeholder:text-zinc-500 focus:border-accent-500 focus:outline-none focus:ring-2 focus:ring-accent-500/20 dark:border-zinc-700 dark:bg-zinc-950"
          />
        </label>
      </div>

      <ConversationList search={debounced} />

      <div className="space-y-3 border-t border-zinc-200 p-3 dark:border-zinc-800">
        <BackendStatus />
        <div className="flex items-center justify-between gap-2">
          <ThemeToggle />
          <ExportMenu label="Export chats" testId="export-all-menu" />
        </div>
        <UserMenu />
      </div>
    </div>
  );
}
