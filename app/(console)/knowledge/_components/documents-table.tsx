"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { RefreshIcon, TrashIcon } from "@/app/_components/icons";
import { errorMessage, formatBytes } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError } from "../../models/_components/panel";

const STATUS_CLASS = {
  ready: "bg-emerald-50 text-emerald-700 dark:bg-emerald-950/40 dark:text-emerald-400",
  indexing: "bg-amber-50 text-amber-700 dark:bg-amber-950/40 dark:text-amber-400",
  error: "bg-red-50 text-red-700 dark:bg-red-950/40 dark:text-red-400",
} as const;

export function DocumentsTable({ collectionId, busy, onReindex }: { collectionId: string; busy: boolean; onReindex: (id: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const documents = useQuery({
    ...trpc.knowledge.documents.queryOptions({ collectionId }),
    // A document indexing in the background (another tab, or this page reloaded) is polled until it settles.
    refetchInterval: (q) => (q.state.data?.some((d) => d.status === "indexing") ? 1500 : false),
  });
  const remove = useMutation(
    trpc.knowledge.deleteDocument.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries(trpc.knowledge.documents.queryFilter({ collectionId })),
          queryClient.invalidateQueries(trpc.knowledge.collections.queryFilter()),
        ]),
    }),
  );

  return (
    <section aria-label="Documents" className="mt-8">
      <h2 className="text-sm font-semibold">Documents</h2>
      {documents.isError && <FormError message={errorMessage(documents.error)} />}
      {remove.isError && <FormError message={errorMessage(remove.error)} />}
      {documents.data?.length === 0 && <p className="mt-2 text-sm text-zinc-500">No documents yet.</p>}
      {documents.data && documents.data.length > 0 && (
        <table className="mt-2 w-full text-sm" data-testid="documents-table">
          <thead className="text-left text-xs text-zinc-500">
            <tr>
              <th className="py-1 font-medium">Title</th>
              <th className="py-1 font-medium">File</th>
              <th className="py-1 text-right font-medium">Size</th>
              <th className="py-1 text-right font-medium">Chunks</th>
              <th className="py-1 font-medium">Status</th>
              <th className="py-1" />
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
            {documents.data.map((d) => (
              <tr key={d.id} data-testid="document-row" data-status={d.status}>
                <td className="py-2 pr-2">
                  <Link href={`/knowledge/doc/${d.id}`} className="font-medium hover:underline">
                    {d.title}
                  </Link>
                </td>
                <td className="py-2 pr-2 font-mono text-xs text-zinc-500">{d.fileName}</td>
                <td className="py-2 pr-2 text-right tabular-nums text-zinc-500">{formatBytes(d.sizeBytes)}</td>
                <td className="py-2 pr-2 text-right tabular-nums">{d.chunkCount}</td>
                <td className="py-2 pr-2">
                  <span className={`rounded-full px-2 py-0.5 text-xs ${STATUS_CLASS[d.status]}`} title={d.error ?? undefined}>
                    {d.status}
                  </span>
                  {d.error && <p className="mt-1 text-xs text-red-700 dark:text-red-400">{d.error}</p>}
                </td>
                <td className="whitespace-nowrap py-2 text-right">
                  <button type="button" aria-label={`Re-index ${d.title}`} disabled={busy} onClick={() => onReindex(d.id)} className="rounded p-1 text-zinc-500 hover:bg-zinc-100 disabled:opacity-40 dark:hover:bg-zinc-800">
                    <RefreshIcon width={14} height={14} />
                  </button>
                  <button
                    type="button"
                    aria-label={`Delete ${d.title}`}
                    disabled={busy || remove.isPending}
                    onClick={() => {
                      if (window.confirm(`Delete "${d.title}"? Its passages leave the index.`)) remove.mutate({ id: d.id });
                    }}
                    className="rounded p-1 text-zinc-500 hover:bg-red-50 hover:text-red-700 disabled:opacity-40 dark:hover:bg-red-950/40"
                  >
                    <TrashIcon width={14} height={14} />
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
