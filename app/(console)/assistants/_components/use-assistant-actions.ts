"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

/** Duplicate / archive / restore / set default, refreshing every assistant query afterwards. */
export function useAssistantActions() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const options = {
    onMutate: () => setError(null),
    onError: (e: unknown) => setError(errorMessage(e)),
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.assistants.pathKey() }),
  };
  const duplicate = useMutation(trpc.assistants.duplicate.mutationOptions(options));
  const archive = useMutation(trpc.assistants.archive.mutationOptions(options));
  const restore = useMutation(trpc.assistants.restore.mutationOptions(options));
  const setDefault = useMutation(trpc.assistants.setDefault.mutationOptions(options));
  const pending = duplicate.isPending || archive.isPending || restore.isPending || setDefault.isPending;
  return { duplicate, archive, restore, setDefault, pending, error, dismiss: () => setError(null) };
}
