"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { AssistantAvatar } from "../../chat/_components/assistant-avatar";
import { FormError, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";
import { SAMPLING_FIELDS, changedFields, normalized, settingsOf, type AssistantDetail, type Settings } from "../_lib/draft";
import { ConversationSection } from "./conversation-section";
import { HistorySection } from "./history-section";
import { KnowledgeSection } from "./knowledge-section";
import { ModelSection } from "./model-section";
import { PersonaSection } from "./persona-section";
import { SamplingSection } from "./sampling-section";
import { TryItPanel } from "./try-it-panel";
import { useAssistantActions } from "./use-assistant-actions";

const SECTIONS = [
  ["persona", "Persona"],
  ["conversation", "Conversation"],
  ["sampling", "Sampling"],
  ["model", "Model"],
  ["knowledge", "Knowledge"],
  ["history", "History"],
] as const;

/** Problems the browser can see before asking the server (which checks everything again). */
function formProblem(d: Settings): string | null {
  if (!d.name.trim()) return "Give the assistant a name.";
  for (const f of SAMPLING_FIELDS) if (!Number.isFinite(d.sampling[f.key])) return `${f.label} needs a number.`;
  if (!Number.isFinite(d.historyWindow)) return "The history window needs a number.";
  return null;
}

/** Editor for one assistant (or a new one when `assistantId` is null), beside a "Try it" chat. */
export function AssistantEditor({ assistantId }: { assistantId: string | null }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const existing = useQuery(trpc.assistants.get.queryOptions({ id: assistantId ?? "" }, { enabled: assistantId !== null }));
  const defaults = useQuery(trpc.assistants.defaults.queryOptions(undefined, { enabled: assistantId === null, staleTime: Infinity }));
  const saved: Settings | undefined = assistantId === null ? defaults.data : existing.data && settingsOf(existing.data);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const actions = useAssistantActions();

  // The form starts from the stored settings once they arrive.
  useEffect(() => {
    if (saved && draft === null) setDraft(saved);
  }, [saved, draft]);

  const patch = saved && draft ? changedFields(saved, draft) : {};
  const dirty = assistantId === null || Object.keys(patch).length > 0;

  useEffect(() => {
    if (!dirty || assistantId === null) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty, assistantId]);

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.assistants.pathKey() });
  const onSaved = (a: AssistantDetail) => {
    queryClient.setQueryData(trpc.assistants.get.queryKey({ id: a.id }), a);
    setDraft(settingsOf(a));
    setNotice("Saved.");
    void refresh();
  };
  const create = useMutation(trpc.assistants.create.mutationOptions());
  const update = useMutation(trpc.assistants.update.mutationOptions());

  const save = async () => {
    if (!draft) return;
    setError(null);
    setNotice(null);
    const problem = formProblem(draft);
    if (problem) return setError(problem);
    try {
      if (assistantId === null) {
        const a = await create.mutateAsync(normalized(draft));
        void refresh();
        router.replace(`/assistants/${a.id}`);
      } else {
        onSaved(await update.mutateAsync({ id: assistantId, patch }));
      }
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const duplicate = async () => {
    if (!assistantId) return;
    const copy = await actions.duplicate.mutateAsync({ id: assistantId }).catch(() => null);
    if (copy) router.push(`/assistants/${copy.id}`);
  };

  const loadError = assistantId === null ? defaults.error : existing.error;
  if (loadError) {
    return (
      <div className="mx-auto max-w-md px-4 py-16 text-center">
        <h1 className="text-lg font-semibold">Couldn’t load this assistant</h1>
        <p className="mt-2 text-sm text-zinc-500">{loadError.message}</p>
        <Link href="/assistants" className={`${primaryButtonClass} mt-6 inline-block`}>
          All assistants
        </Link>
      </div>
    );
  }
  if (!draft) return <div className="mx-auto mt-16 size-12 animate-pulse rounded-full bg-zinc-200 dark:bg-zinc-800" />;

  const a = existing.data;
  const archived = !!a && a.archivedAt !== null;
  const saving = create.isPending || update.isPending;
  const update1 = (p: Partial<Settings>) => {
    setNotice(null);
    setDraft((d) => (d ? { ...d, ...p } : d));
  };
  const small = "rounded-md px-2.5 py-1.5 text-xs font-medium text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 disabled:opacity-50 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100";

  return (
    <div className="flex h-full min-h-0 flex-col lg:flex-row">
      <div className="min-h-0 flex-1 overflow-y-auto">
        <header className="sticky top-0 z-20 border-b border-zinc-200 bg-white px-4 sm:px-6 dark:border-zinc-800 dark:bg-zinc-950">
          <div className="mx-auto flex max-w-3xl flex-wrap items-center gap-3 py-3">
            <Link href="/assistants" className="text-sm text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100">
              Assistants
            </Link>
            <span className="text-zinc-300 dark:text-zinc-700">/</span>
            <AssistantAvatar name={draft.name || "?"} color={draft.color} avatar={draft.avatar} size="md" />
            <h1 className="min-w-0 truncate text-base font-semibold" data-testid="editor-title">
              {draft.name.trim() || (assistantId ? "Untitled" : "New assistant")}
            </h1>
            {a?.isDefault && <span className="rounded-full bg-accent-50 px-2 py-0.5 text-[11px] font-medium text-accent-700 dark:bg-accent-950 dark:text-accent-400">Default</span>}
            {archived && <span className="rounded-full bg-zinc-100 px-2 py-0.5 text-[11px] font-medium text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400">Archived</span>}
            <div className="ml-auto flex items-center gap-2">
              {notice && !dirty && (
                <span role="status" className="text-xs text-emerald-700 dark:text-emerald-400" data-testid="save-status">
                  {notice}
                </span>
              )}
              {dirty && assistantId && <span className="text-xs text-amber-600 dark:text-amber-400">Unsaved changes</span>}
              {dirty && assistantId && saved && (
                <button type="button" className={secondaryButtonClass} onClick={() => setDraft(saved)} disabled={saving}>
                  Discard
                </button>
              )}
              <button type="button" className={primaryButtonClass} onClick={() => void save()} disabled={saving || !dirty} data-testid="save-assistant">
                {saving ? "Saving…" : assistantId ? "Save" : "Create assistant"}
              </button>
            </div>
          </div>
          {a && (
            <div className="mx-auto flex max-w-3xl flex-wrap items-center gap-1 pb-2">
              {!archived && (
                <Link href={`/chat?assistant=${a.id}`} className={small} data-testid="editor-chat-link">
                  Chat with it
                </Link>
              )}
              <Link href={`/deploy/${a.id}`} className={small} data-testid="editor-deploy-link">
                Deploy
              </Link>
              <button type="button" className={small} onClick={() => void duplicate()} disabled={actions.pending}>
                Duplicate
              </button>
              {!archived && !a.isDefault && (
                <button type="button" className={small} onClick={() => actions.setDefault.mutate({ id: a.id })} disabled={actions.pending}>
                  Make default
                </button>
              )}
              {archived ? (
                <button type="button" className={small} onClick={() => actions.restore.mutate({ id: a.id })} disabled={actions.pending}>
                  Restore
                </button>
              ) : (
                !a.isDefault && (
                  <button type="button" className={small} onClick={() => actions.archive.mutate({ id: a.id })} disabled={actions.pending}>
                    Archive
                  </button>
                )
              )}
              <nav aria-label="Sections" className="ml-auto hidden gap-1 md:flex">
                {SECTIONS.map(([id, label]) => (
                  <a key={id} href={`#${id}`} className="rounded px-1.5 py-1 text-xs text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100">
                    {label}
                  </a>
                ))}
              </nav>
            </div>
          )}
        </header>

        <div className="mx-auto max-w-3xl space-y-5 px-4 py-6 sm:px-6">
          {(error || actions.error) && <FormError message={(error ?? actions.error)!} />}
          {archived && (
            <p className="rounded-lg border border-zinc-200 bg-zinc-50 px-3 py-2 text-sm text-zinc-600 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-400">
              Archived: it is not offered for new chats; its conversations are kept.
            </p>
          )}
          <PersonaSection draft={draft} update={update1} />
          <ConversationSection draft={draft} update={update1} />
          <SamplingSection draft={draft} update={update1} />
          <ModelSection draft={draft} update={update1} />
          <KnowledgeSection draft={draft} update={update1} />
          {assistantId && <HistorySection assistantId={assistantId} />}
        </div>
      </div>
      <aside className="h-[32rem] shrink-0 border-t border-zinc-200 lg:h-auto lg:w-[26rem] lg:border-t-0 lg:border-l xl:w-[30rem] dark:border-zinc-800">
        <TryItPanel draft={draft} />
      </aside>
    </div>
  );
}
