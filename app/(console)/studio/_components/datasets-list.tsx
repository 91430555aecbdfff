"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ConfirmRemove } from "@/app/_components/confirm-remove";
import { errorMessage, formatBytes, formatRelativeTime } from "@/app/_lib/format";
import { formatCount } from "@/app/_lib/studio-format";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError } from "./ui";

export const KIND_LABEL = { text: "Raw text", chat: "Q&A / chat" } as const;

export function DatasetsList() {
  const trpc = useTRPC();
  const datasets = useQuery(trpc.studio.datasets.list.queryOptions());
  return (
    <>
      {datasets.isError && <FormError message={`Couldn’t load datasets: ${datasets.error.message}`} />}
      <div className="overflow-x-auto rounded-xl border border-zinc-200 dark:border-zinc-800">
        <table className="w-full min-w-[40rem] text-left text-sm" data-testid="datasets-table">
          <thead className="bg-zinc-50 text-xs text-zinc-500 dark:bg-zinc-900">
            <tr>
              {["Name", "Kind", "Records", "Size", "Files", "Added", ""].map((h, i) => (
                <th key={i} scope="col" className="px-3 py-2 font-medium">
                  {h || <span className="sr-only">Actions</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody className="[&>tr]:border-t [&>tr]:border-zinc-200 dark:[&>tr]:border-zinc-800">
            {datasets.isPending && (
              <tr>
                <td colSpan={7} className="px-3 py-6 text-center text-zinc-400">
                  Loading…
                </td>
              </tr>
            )}
            {datasets.data?.length === 0 && (
              <tr>
                <td colSpan={7} className="px-3 py-6 text-center text-zinc-500">
                  No datasets yet. Upload text or Q&amp;A files when you start a training.
                </td>
              </tr>
            )}
            {datasets.data?.map((d) => (
              <tr key={d.id} data-testid="dataset-row">
                <td className="max-w-64 truncate px-3 py-2.5 font-medium">{d.name}</td>
                <td className="whitespace-nowrap px-3 py-2.5 text-zinc-600 dark:text-zinc-400">{KIND_LABEL[d.kind]}</td>
                <td className="px-3 py-2.5 tabular-nums">{formatCount(d.recordCount)}</td>
                <td className="whitespace-nowrap px-3 py-2.5 tabular-nums">{formatBytes(d.bytes)}</td>
                <td className="max-w-56 truncate px-3 py-2.5 text-xs text-zinc-500" title={d.files.map((f) => f.name).join(", ")}>
                  {d.files.map((f) => f.name).join(", ")}
                </td>
                <td className="whitespace-nowrap px-3 py-2.5 text-zinc-500">{formatRelativeTime(d.createdAt)}</td>
                <td className="px-3 py-2 text-right">
                  <DeleteDatasetButton id={d.id} name={d.name} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function DeleteDatasetButton({ id, name }: { id: string; name: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.studio.datasets.delete.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.studio.datasets.list.queryFilter()),
    }),
  );
  return (
    <ConfirmRemove
      label={`Delete dataset ${name}`}
      confirmText="Delete"
      pendingText="Deleting…"
      pending={remove.isPending}
      error={remove.isError ? errorMessage(remove.error) : null}
      onConfirm={() => remove.mutate({ id })}
    />
  );
}
