"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, FormSuccess, Panel, inputClass, primaryButtonClass } from "./panel";

export function AddLocalForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const add = useMutation(
    trpc.models.addLocal.mutationOptions({
      onSuccess: () => {
        setPath("");
        setName("");
        return queryClient.invalidateQueries(trpc.models.list.queryFilter());
      },
    }),
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!path.trim() || add.isPending) return;
    add.mutate({ path: path.trim(), ...(name.trim() ? { name: name.trim() } : {}) });
  };

  return (
    <Panel title="Add local GGUF" description="Register a .gguf file that is already on the server’s disk.">
      <form onSubmit={submit} className="space-y-2" data-testid="add-local-form">
        <div>
          <label htmlFor={`${id}-path`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
            File path
          </label>
          <input
            id={`${id}-path`}
            value={path}
            onChange={(e) => setPath(e.target.value)}
            placeholder="/models/qwen2.5-0.5b-instruct-q4_k_m.gguf"
            className={`${inputClass} font-mono`}
            required
            spellCheck={false}
            autoComplete="off"
          />
        </div>
        <div className="flex items-end gap-2">
          <div className="flex-1">
            <label htmlFor={`${id}-name`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Display name <span className="font-normal text-zinc-400">(optional)</span>
            </label>
            <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} className={inputClass} />
          </div>
          <button type="submit" disabled={!path.trim() || add.isPending} className={primaryButtonClass}>
            {add.isPending ? "Adding…" : "Add model"}
          </button>
        </div>
        {add.isError && <FormError message={errorMessage(add.error)} />}
        {add.isSuccess && <FormSuccess message={`Added ${add.data.name}.`} />}
      </form>
    </Panel>
  );
}
