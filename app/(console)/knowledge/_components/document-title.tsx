"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, inputClass, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";

/**
 * A document's title, renamable by editors. Imports guess it from the file's first meaningful
 * heading (or its name); the owner has the last word.
 */
export function DocumentTitle({ id, title }: { id: string; title: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { can } = useSession();
  const inputId = useId();
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(title);
  const rename = useMutation(
    trpc.knowledge.renameDocument.mutationOptions({
      onSuccess: () => {
        setEditing(false);
        void queryClient.invalidateQueries(trpc.knowledge.document.queryFilter({ id }));
        void queryClient.invalidateQueries(trpc.knowledge.documents.queryFilter());
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim() && value.trim() !== title) rename.mutate({ id, title: value });
    else setEditing(false);
  };

  if (!editing) {
    return (
      <div className="mt-1 flex flex-wrap items-baseline gap-2">
        <h1 className="text-xl font-semibold tracking-tight" data-testid="document-title">
          {title}
        </h1>
        {can("editor") && (
          <button
            type="button"
            data-testid="rename-document"
            onClick={() => {
              setValue(title);
              setEditing(true);
            }}
            className="rounded px-1.5 py-0.5 text-xs text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
          >
            Rename
          </button>
        )}
      </div>
    );
  }
  return (
    <form onSubmit={submit} className="mt-1 max-w-xl" data-testid="rename-document-form">
      <label htmlFor={inputId} className="sr-only">
        Document title
      </label>
      <div className="flex gap-2">
        <input
          id={inputId}
          autoFocus
          value={value}
          maxLength={300}
          onChange={(e) => setValue(e.target.value)}
          onKeyDown={(e) => e.key === "Escape" && setEditing(false)}
          className={inputClass}
          aria-describedby={`${inputId}-hint`}
        />
        <button type="submit" className={primaryButtonClass} disabled={rename.isPending || !value.trim()}>
          {rename.isPending ? "Saving…" : "Save"}
        </button>
        <button type="button" className={secondaryButtonClass} onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
      <p id={`${inputId}-hint`} className="mt-1 text-xs text-zinc-500">
        Shown in source lists under answers. Answers already given keep the title they cited.
      </p>
      {rename.isError && <FormError message={errorMessage(rename.error)} />}
    </form>
  );
}
