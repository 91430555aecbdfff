"use client";

import { useEffect, useRef } from "react";
import { DownloadIcon } from "@/app/_components/icons";

/** Where an export downloads from (GET /api/chat/export; the server checks the conversations are the user's own). */
export function exportHref(format: "markdown" | "json", conversationId?: string): string {
  const q = new URLSearchParams({ format });
  if (conversationId) q.set("conversationId", conversationId);
  return `/api/chat/export?${q.toString()}`;
}

/** "Export" → Markdown or JSON download of one conversation, or of all the user's own chats. */
export function ExportMenu({ conversationId, label = "Export", testId = "export-menu" }: { conversationId?: string; label?: string; testId?: string }) {
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const close = (e: MouseEvent) => {
      if (ref.current?.open && !ref.current.contains(e.target as Node)) ref.current.open = false;
    };
    document.addEventListener("click", close);
    return () => document.removeEventListener("click", close);
  }, []);
  const item = "block rounded-md px-3 py-1.5 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-200 dark:hover:bg-zinc-800";
  return (
    <details ref={ref} className="relative" data-testid={testId} onKeyDown={(e) => e.key === "Escape" && ref.current && (ref.current.open = false)}>
      <summary className="flex cursor-pointer list-none items-center gap-1 rounded-md px-2 py-1 text-xs font-medium text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800 [&::-webkit-details-marker]:hidden">
        <DownloadIcon width={14} height={14} /> {label}
      </summary>
      <div className="absolute right-0 z-20 mt-1 w-44 rounded-lg border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
        <a href={exportHref("markdown", conversationId)} download className={item} data-testid="export-markdown">
          Markdown (.md)
        </a>
        <a href={exportHref("json", conversationId)} download className={item} data-testid="export-json">
          JSON (.json)
        </a>
      </div>
    </details>
  );
}
