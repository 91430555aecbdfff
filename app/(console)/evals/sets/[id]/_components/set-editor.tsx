"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { downloadText } from "@/app/_lib/eval-format";
import { errorMessage } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC, useTRPCClient } from "@/app/_lib/trpc";
import { FormError, FormSuccess, PageFrame, Section, cardClass, secondaryButtonClass, smallButtonClass } from "../../../_components/ui";
import { BuildPanel } from "./build-panel";
import { RowForm, toInput, type RowView } from "./row-form";

/** One eval set: coverage, import/export, building candidates, reviewing them, and the accepted rows. */
export function SetEditor({ id }: { id: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { can } = useSession();
  const set = useQuery(trpc.evals.sets.get.queryOptions({ id }));
  const refresh = () => void queryClient.invalidateQueries(trpc.evals.sets.pathFilter());
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const update = useMutation(trpc.evals.sets.update.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.evals.sets.delete.mutationOptions({ onSuccess: () => router.push("/evals") }));
  const importFile = useMutation(
    trpc.evals.sets.import.mutationOptions({
      onSuccess: (r) => {
        setNotice(`Imported ${r.added} row${r.added === 1 ? "" : "s"}.`);
        refresh();
      },
      onError: (e) => setError(errorMessage(e)),
    }),
  );
  const add = useMutation(trpc.evals.rows.add.mutationOptions({ onSuccess: refresh }));

  if (set.isError) return <PageFrame><FormError message={`Couldn’t load the eval set: ${set.error.message}`} /></PageFrame>;
  if (set.isPending) return <PageFrame><p className="text-sm text-zinc-400">Loading…</p></PageFrame>;
  const s = set.data;
  const candidates = s.rows.filter((r) => r.status === "candidate");
  const accepted = s.rows.filter((r) => r.status === "accepted");
  const editor = can("editor");

  const onExport = async (format: "jsonl" | "csv") => {
    const file = await client.evals.sets.export.query({ setId: id, format });
    downloadText(file.fileName, file.mime, file.content);
  };

  return (
    <PageFrame>
      <Link href="/evals" className="text-sm text-zinc-500 hover:underline">
        ← Evaluate
      </Link>
      <header className="mt-2 flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 className="text-xl font-semibold tracking-tight" data-testid="set-name">
            {s.name}
          </h1>
          <p className="mt-1 text-sm text-zinc-500" data-testid="set-coverage">
            {s.coverage.rows} question{s.coverage.rows === 1 ? "" : "s"} · {s.coverage.withReference} with a reference · {s.coverage.withFacts} with required facts ·{" "}
            {s.coverage.withSource} with an expected source · {s.coverage.shouldRefuse} out of scope
            {s.coverage.candidates > 0 && ` · ${s.coverage.candidates} waiting for review`}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          {editor && s.assistantId && (
            <label className="flex items-center gap-1.5 text-sm">
              <input type="checkbox" checked={s.isDefault} disabled={update.isPending} onChange={(e) => update.mutate({ id, isDefault: e.target.checked })} />
              Default set (the activation gate scores on it)
            </label>
          )}
          <button type="button" className={secondaryButtonClass} onClick={() => void onExport("jsonl")}>
            Export JSONL
          </button>
          <button type="button" className={secondaryButtonClass} onClick={() => void onExport("csv")}>
            Export CSV
          </button>
          {editor && (
            <button type="button" className={secondaryButtonClass} onClick={() => window.confirm(`Delete the eval set "${s.name}"? Runs keep their copy of its rows.`) && remove.mutate({ id })}>
              Delete
            </button>
          )}
        </div>
      </header>
      {s.coverage.cannotCompute.length > 0 && (
        <ul className="mt-3 space-y-1 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900/60 dark:bg-amber-950/30 dark:text-amber-200" data-testid="cannot-compute">
          {s.coverage.cannotCompute.map((c) => (
            <li key={c.metric}>{c.reason}</li>
          ))}
        </ul>
      )}
      {notice && <FormSuccess message={notice} />}
      {error && <FormError message={error} />}

      {editor && (
        <Section title="Build rows">
          <div className={`${cardClass} space-y-4`}>
            <BuildPanel setId={id} assistantId={s.assistantId} onBuilt={refresh} />
            <div className="border-t border-zinc-200 pt-3 dark:border-zinc-800">
              <label className="text-sm">
                <span className="mr-2 font-medium">Import a .jsonl or .csv file</span>
                <input
                  type="file"
                  accept=".jsonl,.csv,.json"
                  data-testid="import-input"
                  onChange={async (e) => {
                    const file = e.target.files?.[0];
                    e.target.value = "";
                    if (!file) return;
                    setNotice(null);
                    setError(null);
                    importFile.mutate({ setId: id, fileName: file.name, content: await file.text() });
                  }}
                />
              </label>
              <p className="mt-1 text-xs text-zinc-500">Fields: question, answer, facts, expected_source, should_refuse. A bad line is reported with its number and nothing is imported.</p>
            </div>
          </div>
        </Section>
      )}

      {candidates.length > 0 && (
        <Section title={`Review (${candidates.length})`} testId="review">
          <p className="mb-3 text-sm text-zinc-500">Generated rows count only once you accept them — as they are or edited. Drop the ones that are not good questions.</p>
          <ul className="space-y-3">
            {candidates.map((r) => (
              <CandidateCard key={r.id} setId={id} row={r} editor={editor} onDone={refresh} />
            ))}
          </ul>
        </Section>
      )}

      <Section title={`Questions (${accepted.length})`}>
        <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" data-testid="accepted-rows">
          {accepted.length === 0 && <li className="px-4 py-6 text-center text-sm text-zinc-500">No questions yet.</li>}
          {accepted.map((r) => (
            <AcceptedRow key={r.id} row={r} editor={editor} onDone={refresh} />
          ))}
        </ul>
        {editor && (
          <details className={`${cardClass} mt-3`}>
            <summary className="cursor-pointer text-sm font-medium">Add a question</summary>
            <div className="mt-3">
              <RowForm submitLabel="Add" busy={add.isPending} onSubmit={(row) => add.mutate({ setId: id, rows: [row] })} />
              {add.isError && <FormError message={errorMessage(add.error)} />}
            </div>
          </details>
        )}
      </Section>
    </PageFrame>
  );
}

function RowSummary({ row }: { row: RowView }) {
  return (
    <div className="min-w-0 space-y-1 text-sm">
      <p className="font-medium" data-testid="row-question">
        {row.question}
      </p>
      {row.reference && <p className="line-clamp-3 text-zinc-600 dark:text-zinc-400">{row.reference}</p>}
      <p className="flex flex-wrap gap-x-3 text-xs text-zinc-500">
        {row.facts.length > 0 && <span>Facts: {row.facts.map((f) => `“${f}”`).join(", ")}</span>}
        {row.expectedSource && (
          <span>
            Source: {row.expectedSource.kind === "collection" ? "collection " : ""}
            {row.expectedSource.title}
          </span>
        )}
        {row.shouldRefuse && <span className="text-amber-700 dark:text-amber-400">should refuse</span>}
        {row.provenance?.rule && <span>from a {row.provenance.rule === "faq" ? "FAQ pair" : row.provenance.rule}</span>}
        {row.origin === "generated" && row.provenance?.generator && <span>written by {row.provenance.generator}</span>}
        {row.origin === "conversation" && <span>{row.provenance?.rating === 1 ? "👍 rated answer" : "👎 answer to fix"}</span>}
      </p>
      {row.provenance?.note && <p className="text-xs text-amber-700 dark:text-amber-400">{row.provenance.note}</p>}
      {row.provenance?.answer && <p className="text-xs text-zinc-500">Rated-down answer: {row.provenance.answer}</p>}
    </div>
  );
}

function CandidateCard({ setId, row, editor, onDone }: { setId: string; row: RowView; editor: boolean; onDone: () => void }) {
  const trpc = useTRPC();
  const [editing, setEditing] = useState(false);
  const review = useMutation(trpc.evals.rows.review.mutationOptions({ onSuccess: onDone }));
  return (
    <li className={cardClass} data-testid="candidate-row" data-row-id={row.id}>
      {editing ? (
        <RowForm initial={toInput(row)} submitLabel="Save and accept" busy={review.isPending} onCancel={() => setEditing(false)} onSubmit={(edited) => review.mutate({ setId, accept: [{ id: row.id, row: edited }], drop: [] })} />
      ) : (
        <div className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
          <RowSummary row={row} />
          {editor && (
            <div className="flex shrink-0 gap-1.5">
              <button type="button" className={smallButtonClass} disabled={review.isPending} onClick={() => review.mutate({ setId, accept: [{ id: row.id }], drop: [] })} data-testid="accept-row">
                Accept
              </button>
              <button type="button" className={smallButtonClass} onClick={() => setEditing(true)} data-testid="edit-row">
                Edit
              </button>
              <button type="button" className={smallButtonClass} disabled={review.isPending} onClick={() => review.mutate({ setId, accept: [], drop: [row.id] })} data-testid="drop-row">
                Drop
              </button>
            </div>
          )}
        </div>
      )}
      {review.isError && <FormError message={errorMessage(review.error)} />}
    </li>
  );
}

function AcceptedRow({ row, editor, onDone }: { row: RowView; editor: boolean; onDone: () => void }) {
  const trpc = useTRPC();
  const [editing, setEditing] = useState(false);
  const update = useMutation(
    trpc.evals.rows.update.mutationOptions({
      onSuccess: () => {
        setEditing(false);
        onDone();
      },
    }),
  );
  const remove = useMutation(trpc.evals.rows.delete.mutationOptions({ onSuccess: onDone }));
  return (
    <li className="px-4 py-3" data-testid="accepted-row">
      {editing ? (
        <RowForm initial={toInput(row)} submitLabel="Save" busy={update.isPending} onCancel={() => setEditing(false)} onSubmit={(edited) => update.mutate({ id: row.id, row: edited })} />
      ) : (
        <div className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
          <RowSummary row={row} />
          {editor && (
            <div className="flex shrink-0 gap-1.5">
              <button type="button" className={smallButtonClass} onClick={() => setEditing(true)}>
                Edit
              </button>
              <button type="button" className={smallButtonClass} disabled={remove.isPending} onClick={() => remove.mutate({ ids: [row.id] })}>
                Delete
              </button>
            </div>
          )}
        </div>
      )}
      {(update.isError || remove.isError) && <FormError message={errorMessage(update.error ?? remove.error)} />}
    </li>
  );
}
