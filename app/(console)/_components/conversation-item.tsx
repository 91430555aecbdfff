"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { PencilIcon, TrashIcon } from "@/app/_components/icons";
import { errorMessage, formatRelativeTime } from "@/app/_lib/format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";

type ConversationSummary = RouterOutputs["conversations"]["list"][number];

export function ConversationItem({ conversation: c, active }: { conversation: ConversationSummary; active: boolean }) {
  const [mode, setMode] = useState<"view" | "rename" | "confirm-delete">("view");

  if (mode === "rename") return <RenameRow conversation={c} onDone={() => setMode("view")} />;
  if (mode === "confirm-delete")
    return <DeleteConfirmRow conversation={c} active={active} onDone={() => setMode("view")} />;

  return (
    <li data-testid="conversation-item" data-conversation-id={c.id} className="group relative">
      <Link
        href={`/chat/${c.id}`}
        aria-current={active ? "page" : undefined}
        className={`block rounded-md px-2 py-1.5 pr-14 ${
          active ? "bg-zinc-200/80 dark:bg-zinc-800" : "hover:bg-zinc-200/50 dark:hover:bg-zinc-800/60"
        }`}
      >
        <span className="block truncate text-sm text-zinc-800 dark:text-zinc-200">{c.title || "Untitled"}</span>
        <span className="block truncate text-xs text-zinc-500">
          {c.assistantName} · {formatRelativeTime(c.updatedAt)}
        </span>
      </Link>
      <div className="absolute right-1 top-1/2 flex -translate-y-1/2 gap-0.5 opacity-0 transition pointer-coarse:opacity-100 group-focus-within:opacity-100 group-hover:opacity-100">
        <IconButton label={`Rename “${c.title}”`} onClick={() => setMode("rename")}>
          <PencilIcon width={14} height={14} />
        </IconButton>
        <IconButton label={`Delete “${c.title}”`} onClick={() => setMode("confirm-delete")}>
          <TrashIcon width={14} height={14} />
        </IconButton>
      </div>
    </li>
  );
}

function IconButton({ label, onClick, children }: { label: string; onClick: () => void; children: React.ReactNode }) {
  return (
    <button
      type="button"
      onClick={onClick}
      aria-label={label}
      title={label}
      className="rounded p-1 text-zinc-500 hover:bg-zinc-300/60 hover:text-zinc-900 dark:hover:bg-zinc-700 dark:hover:text-zinc-100"
    >
      {children}
    </button>
  );
}

function useInvalidateConversations() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries(trpc.conversations.pathFilter());
}

function RenameRow({ conversation: c, onDone }: { conversation: ConversationSummary; onDone: () => void }) {
  const trpc = useTRPC();
  const invalidate = useInvalidateConversations();
  const [title, setTitle] = useState(c.title);
  const rename = useMutation(
    trpc.conversations.rename.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        onDone();
      },
    }),
  );

  const save = () => {
    const t = title.trim();
    if (!t || t === c.title) return onDone();
    if (!rename.isPending) rename.mutate({ id: c.id, title: t });
  };

  return (
    <li data-testid="conversation-item" data-conversation-id={c.id} className="px-1 py-1">
      <input
        autoFocus
        aria-label="Conversation title"
        value={title}
        maxLength={200}
        onChange={(e) => setTitle(e.target.value)}
        onFocus={(e) => e.currentTarget.select()}
        onBlur={save}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            save();
          } else if (e.key === "Escape") {
            e.preventDefault();
            onDone();
          }
        }}
        disabled={rename.isPending}
        className="w-full rounded-md border border-accent-500 bg-white px-2 py-1 text-sm ring-2 ring-accent-500/20 focus:outline-none dark:bg-zinc-950"
      />
      {rename.isError && <p className="px-1 pt-1 text-xs text-red-600 dark:text-red-400">{errorMessage(rename.error)}</p>}
    </li>
  );
}

function DeleteConfirmRow({
  conversation: c,
  active,
  onDone,
}: {
  conversation: ConversationSummary;
  active: boolean;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const invalidate = useInvalidateConversations();
  const remove = useMutation(
    trpc.conversations.delete.mutationOptions({
      onSuccess: async () => {
        if (active) router.push("/chat");
        await invalidate();
      },
    }),
  );

  return (
    <li
      data-testid="conversation-item"
      data-conversation-id={c.id}
      role="group"
      aria-label={`Delete “${c.title}”?`}
      className="rounded-md border border-red-200 bg-red-50 px-2 py-1.5 dark:border-red-900/60 dark:bg-red-950/40"
    >
      <p className="truncate text-xs text-red-800 dark:text-red-300">Delete “{c.title}”?</p>
      {remove.isError && <p className="text-xs text-red-700 dark:text-red-400">{errorMessage(remove.error)}</p>}
      <div className="mt-1 flex gap-1.5">
        <button
          type="button"
          autoFocus
          data-testid="confirm-delete"
          disabled={remove.isPending}
          onClick={() => remove.mutate({ id: c.id })}
          className="rounded bg-red-600 px-2 py-0.5 text-xs font-medium text-white hover:bg-red-700 disabled:opacity-60"
        >
          {remove.isPending ? "Deleting…" : "Delete"}
        </button>
        <button
          type="button"
          onClick={onDone}
          onKeyDown={(e) => e.key === "Escape" && onDone()}
          className="rounded px-2 py-0.5 text-xs text-zinc-700 hover:bg-zinc-200 dark:text-zinc-300 dark:hover:bg-zinc-800"
        >
          Cancel
        </button>
      </div>
    </li>
  );
}
