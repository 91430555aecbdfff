"use client";

import Link from "next/link";
import { AssistantAvatar } from "../../chat/_components/assistant-avatar";
import type { AssistantDetail } from "../_lib/draft";
import type { useAssistantActions } from "./use-assistant-actions";

const linkClass = "rounded-md px-2 py-1 text-xs font-medium text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100";

export function AssistantCard({ assistant: a, actions }: { assistant: AssistantDetail; actions: ReturnType<typeof useAssistantActions> }) {
  const archived = a.archivedAt !== null;
  return (
    <li
      data-testid="assistant-card"
      data-assistant-id={a.id}
      className={`group relative flex flex-col overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-xs transition hover:border-zinc-300 hover:shadow-sm dark:border-zinc-800 dark:bg-zinc-900/50 dark:hover:border-zinc-700 ${archived ? "opacity-75" : ""}`}
    >
      <span aria-hidden="true" className="h-1.5 w-full" style={{ backgroundColor: a.color }} />
      <div className="flex flex-1 flex-col p-4">
        <div className="flex items-start gap-3">
          <AssistantAvatar name={a.name} color={a.color} avatar={a.avatar} size="lg" />
          <div className="min-w-0 flex-1">
            <h2 className="flex items-center gap-2 text-sm font-semibold">
              <Link href={`/assistants/${a.id}`} className="truncate after:absolute after:inset-0" data-testid="assistant-card-link">
                {a.name}
              </Link>
              {a.isDefault && <span className="shrink-0 rounded-full bg-accent-50 px-2 py-0.5 text-[11px] font-medium text-accent-700 dark:bg-accent-950 dark:text-accent-400">Default</span>}
              {archived && <span className="shrink-0 rounded-full bg-zinc-100 px-2 py-0.5 text-[11px] font-medium text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400">Archived</span>}
            </h2>
            <p className="mt-0.5 truncate font-mono text-xs text-zinc-500">{a.modelLabel ?? "No model selected"}</p>
          </div>
        </div>
        <p className="mt-3 line-clamp-3 min-h-[3.75rem] text-sm text-zinc-600 dark:text-zinc-400">
          {a.systemPrompt.trim() || <span className="italic text-zinc-400">No system prompt</span>}
        </p>
        <dl className="mt-3 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-500">
          <div>
            <dt className="inline">Starters </dt>
            <dd className="inline font-medium text-zinc-700 dark:text-zinc-300">{a.starterQuestions.length}</dd>
          </div>
          <div>
            <dt className="inline">Collections </dt>
            <dd className="inline font-medium text-zinc-700 dark:text-zinc-300">{a.collectionIds.length}</dd>
          </div>
          <div>
            <dt className="inline">Temp </dt>
            <dd className="inline font-medium text-zinc-700 dark:text-zinc-300">{a.sampling.temperature}</dd>
          </div>
        </dl>
      </div>
      {/* Above the card-wide link (z-10) so these stay clickable. */}
      <div className="relative z-10 flex items-center gap-1 border-t border-zinc-100 px-2 py-1.5 dark:border-zinc-800">
        {!archived && (
          <Link href={`/chat?assistant=${a.id}`} className={linkClass} data-testid="assistant-chat-link">
            Chat
          </Link>
        )}
        <Link href={`/deploy/${a.id}`} className={linkClass} data-testid="assistant-deploy-link">
          Deploy
        </Link>
        <button type="button" className={linkClass} disabled={actions.pending} onClick={() => actions.duplicate.mutate({ id: a.id })}>
          Duplicate
        </button>
        <span className="ml-auto" />
        {archived ? (
          <button type="button" className={linkClass} disabled={actions.pending} onClick={() => actions.restore.mutate({ id: a.id })}>
            Restore
          </button>
        ) : (
          !a.isDefault && (
            <>
              <button type="button" className={linkClass} disabled={actions.pending} onClick={() => actions.setDefault.mutate({ id: a.id })}>
                Make default
              </button>
              <button type="button" className={linkClass} disabled={actions.pending} onClick={() => actions.archive.mutate({ id: a.id })}>
                Archive
              </button>
            </>
          )
        )}
      </div>
    </li>
  );
}
