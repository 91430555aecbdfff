"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { errorMessage, isAbortError } from "@/app/_lib/format";
import { useTRPC, useTRPCClient } from "@/app/_lib/trpc";
import { FormError, FormSuccess, inputClass, primaryButtonClass, secondaryButtonClass } from "../../../_components/ui";
import { AssistantSelect, VersionsList } from "../../../_components/versions-panel";

type Answers = Record<number, { current?: string; candidate?: string }>;
type CompareState = { phase: "idle" } | { phase: "running"; answers: Answers } | { phase: "done"; answers: Answers } | { phase: "error"; answers: Answers; message: string };

/**
 * Side by side: the assistant's current model and the new version answer the assistant's eval
 * prompts (editable, saved per assistant). Then one click makes the new version live; the versions
 * list below it rolls back just as easily.
 */
export function EvaluatePanel({ candidateModelId, defaultAssistantId }: { candidateModelId: string; defaultAssistantId: string | null }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const [assistantId, setAssistantId] = useState<string | null>(defaultAssistantId);
  const assistants = useQuery(trpc.assistants.list.queryOptions());
  const assistantName = assistants.data?.find((a) => a.id === assistantId)?.name ?? "this assistant";
  const [prompts, setPrompts] = useState<string[]>([]);
  const saved = useQuery(trpc.studio.evalPrompts.get.queryOptions({ assistantId: assistantId ?? "" }, { enabled: !!assistantId }));
  useEffect(() => {
    if (saved.data) setPrompts(saved.data);
  }, [saved.data]);
  const dirty = JSON.stringify(prompts) !== JSON.stringify(saved.data ?? []);
  const savePrompts = useMutation(
    trpc.studio.evalPrompts.set.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.studio.evalPrompts.get.queryFilter({ assistantId: assistantId ?? "" })),
    }),
  );
  const [compare, setCompare] = useState<CompareState>({ phase: "idle" });
  const abortRef = useRef<AbortController | null>(null);
  useEffect(() => () => abortRef.current?.abort(), []);
  const [activatedFor, setActivatedFor] = useState<string | null>(null);
  const activate = useMutation(
    trpc.studio.versions.activate.mutationOptions({
      onSuccess: () => {
        setActivatedFor(assistantName);
        void queryClient.invalidateQueries(trpc.studio.versions.list.queryFilter());
        void queryClient.invalidateQueries(trpc.assistants.list.queryFilter());
      },
    }),
  );

  const versions = useQuery(trpc.studio.versions.list.queryOptions({ assistantId: assistantId ?? "" }, { enabled: !!assistantId }));
  const candidateActive = !!assistantId && !!versions.data?.find((v) => v.id === candidateModelId)?.activeFor.includes(assistantId);

  const cleaned = prompts.map((p) => p.trim()).filter(Boolean);

  const runCompare = async () => {
    if (!assistantId || compare.phase === "running" || cleaned.length === 0) return;
    const controller = new AbortController();
    abortRef.current = controller;
    let answers: Answers = {};
    setCompare({ phase: "running", answers });
    try {
      // The server compares on the saved prompt set, so save edits first.
      if (dirty) await savePrompts.mutateAsync({ assistantId, prompts: cleaned });
      const stream = await client.studio.compare.mutate({ assistantId, candidateModelId }, { signal: controller.signal });
      for await (const e of stream) {
        if (e.type === "answer") {
          answers = { ...answers, [e.promptIndex]: { ...answers[e.promptIndex], [e.side]: e.text } };
          setCompare({ phase: "running", answers });
        }
      }
      setCompare({ phase: "done", answers });
    } catch (err) {
      setCompare(isAbortError(err, controller.signal) ? { phase: "done", answers } : { phase: "error", answers, message: errorMessage(err) });
    } finally {
      abortRef.current = null;
    }
  };

  const answers = compare.phase === "idle" ? null : compare.answers;
  const shownPrompts = saved.data ?? cleaned;

  return (
    <div className="space-y-5">
      <AssistantSelect
        value={assistantId}
        onChange={(id) => {
          setAssistantId(id);
          setCompare({ phase: "idle" });
          setActivatedFor(null);
        }}
        label="Assistant"
      />

      {assistantId && (
        <>
          <PromptsEditor prompts={prompts} onChange={setPrompts} loaded={saved.isSuccess} />
          <div className="flex flex-wrap items-center gap-2">
            {compare.phase === "running" ? (
              <button type="button" className={secondaryButtonClass} onClick={() => abortRef.current?.abort()}>
                Stop comparing
              </button>
            ) : (
              <button type="button" className={secondaryButtonClass} onClick={runCompare} disabled={cleaned.length === 0} data-testid="compare-button">
                Compare answers side by side
              </button>
            )}
            {dirty && (
              <button type="button" className={secondaryButtonClass} disabled={savePrompts.isPending || cleaned.length === 0} onClick={() => savePrompts.mutate({ assistantId, prompts: cleaned })}>
                {savePrompts.isPending ? "Saving…" : "Save prompts"}
              </button>
            )}
            <button
              type="button"
              className={primaryButtonClass}
              disabled={activate.isPending || candidateActive}
              onClick={() => activate.mutate({ assistantId, modelId: candidateModelId })}
              data-testid="activate-candidate"
            >
              {activate.isPending ? "Activating…" : candidateActive ? `Active for ${assistantName}` : `Activate for ${assistantName}`}
            </button>
          </div>
          {savePrompts.isError && <FormError message={errorMessage(savePrompts.error)} />}
          {compare.phase === "error" && <FormError message={compare.message} />}
          {activate.isError && <FormError message={errorMessage(activate.error)} />}
          {activatedFor && <FormSuccess message={`The new version now answers for ${activatedFor}. You can roll back below at any time.`} />}

          {answers && (
            <div className="overflow-x-auto" data-testid="compare-results" aria-busy={compare.phase === "running"}>
              <table className="w-full min-w-[40rem] table-fixed text-left text-sm">
                <thead className="text-xs text-zinc-500">
                  <tr>
                    <th scope="col" className="w-1/4 px-2 py-1 font-medium">Prompt</th>
                    <th scope="col" className="px-2 py-1 font-medium">Current version</th>
                    <th scope="col" className="px-2 py-1 font-medium">New version</th>
                  </tr>
                </thead>
                <tbody className="align-top [&>tr]:border-t [&>tr]:border-zinc-200 dark:[&>tr]:border-zinc-800">
                  {shownPrompts.map((p, i) => (
                    <tr key={i} data-testid="compare-row">
                      <th scope="row" className="px-2 py-2 font-medium">{p}</th>
                      <td className="whitespace-pre-wrap break-words px-2 py-2" data-testid="answer-current">
                        {answers[i]?.current ?? <Pending running={compare.phase === "running"} />}
                      </td>
                      <td className="whitespace-pre-wrap break-words px-2 py-2" data-testid="answer-candidate">
                        {answers[i]?.candidate ?? <Pending running={compare.phase === "running"} />}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}

          <div>
            <h3 className="text-sm font-semibold">Versions of {assistantName}</h3>
            <div className="mt-2">
              <VersionsList assistantId={assistantId} highlightModelId={candidateModelId} />
            </div>
          </div>
        </>
      )}
    </div>
  );
}

function Pending({ running }: { running: boolean }) {
  return <span className="text-zinc-400">{running ? "…" : "—"}</span>;
}

function PromptsEditor({ prompts, onChange, loaded }: { prompts: string[]; onChange: (p: string[]) => void; loaded: boolean }) {
  const id = useId();
  return (
    <fieldset>
      <legend className="text-sm font-semibold">Eval prompts</legend>
      <p className="text-xs text-zinc-500">Questions your users really ask. Both versions answer each one.</p>
      <ol className="mt-2 space-y-2" data-testid="eval-prompts" data-loaded={loaded || undefined}>
        {prompts.map((p, i) => (
          <li key={i} className="flex items-center gap-2">
            <label htmlFor={`${id}-${i}`} className="w-6 shrink-0 text-right text-xs tabular-nums text-zinc-500">
              <span className="sr-only">Prompt </span>
              {i + 1}
            </label>
            <input id={`${id}-${i}`} value={p} maxLength={4000} onChange={(e) => onChange(prompts.map((x, j) => (j === i ? e.target.value : x)))} className={inputClass} data-testid="eval-prompt" />
            <button type="button" onClick={() => onChange(prompts.filter((_, j) => j !== i))} className="rounded px-1.5 text-xs text-zinc-500 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800" aria-label={`Remove prompt ${i + 1}`}>
              Remove
            </button>
          </li>
        ))}
      </ol>
      <button type="button" onClick={() => onChange([...prompts, ""])} disabled={prompts.length >= 50} className="mt-2 text-sm font-medium text-accent-600 hover:underline disabled:opacity-50 dark:text-accent-400">
        + Add a prompt
      </button>
    </fieldset>
  );
}
