"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ConfirmRemove } from "@/app/_components/confirm-remove";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

export function RemoveModelButton({ id, name }: { id: string; name: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.models.remove.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.models.list.queryFilter()),
    }),
  );
  return (
    <ConfirmRemove
      label={`Remove ${name}`}
      pending={remove.isPending}
      error={remove.isError ? errorMessage(remove.error) : null}
      onConfirm={() => remove.mutate({ id })}
    />
  );
}
