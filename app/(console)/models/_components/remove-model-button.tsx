"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { TrashIcon } from "@/app/_components/icons";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

export function RemoveModelButton({ id, name }: { id: string; name: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation(
    trpc.models.remove.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.models.list.queryFilter()),
    }),
  );

  if (!confirming) {
    return (
      <button
        type="button"
        onClick={() => setConfirming(true)}
        aria-label={`Remove ${name}`}
        title={`Remove ${name}`}
        className="rounded p-1 text-zinc-400 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800"
      >
        <TrashIcon />
      </button>
    );
  }
  return (
    <span className="inline-flex flex-col items-end gap-1">
      <span className="inline-flex gap-1">
        <button
          type="button"
          autoFocus
          disabled={remove.isPending}
          onClick={() => remove.mutate({ id })}
          className="rounded bg-red-600 px-2 py-0.5 text-xs font-medium text-white hover:bg-red-700 disabled:opacity-60"
        >
          {remove.isPending ? "Removing…" : "Remove"}
        </button>
        <button
          type="button"
          onClick={() => setConfirming(false)}
          className="rounded px-2 py-0.5 text-xs text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
        >
          Cancel
        </button>
      </span>
      {remove.isError && <span className="max-w-48 text-xs text-red-600 dark:text-red-400">{errorMessage(remove.error)}</span>}
    </span>
  );
}
