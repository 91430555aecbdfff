"use client";

import { useSession } from "@/app/_lib/session";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useId, useState, type FormEvent } from "react";
import { PencilIcon, TrashIcon } from "@/app/_components/icons";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { KnowledgeFrame } from "./page-frame";
import { FormError, Panel, inputClass, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";

/** /knowledge: the collections, with create, rename and delete. */
export function CollectionsView() {
  const canEdit = useSession().can("editor");
  const trpc = useTRPC();
  const collections = useQuery(trpc.knowledge.collections.queryOptions());
  const status = useQuery(trpc.knowledge.status.queryOptions());
  return (
    <KnowledgeFrame wide root>
      <header>
        <h1 className="text-xl font-semibold tracking-tight">Knowledge</h1>
        <p className="mt-1 text-sm text-zinc-500">
          Collections of documents your assistants search and cite.{" "}
          {status.data &&
            (status.data.embeddingModel
              ? "Search combines keywords (BM25) with the embedding model."
              : "Search uses keywords (BM25); set ATELIER_EMBEDDING_MODEL to add vector search.")}
        </p>
      </header>
      <div className="mt-6">
        {canEdit && <CreateCollectionForm />}
      </div>
      <section aria-label="Collections" className="mt-6">
        {collections.isError && <FormError message={errorMessage(collections.error)} />}
        {collections.data?.length === 0 && <p className="text-sm text-zinc-500">No collections yet.</p>}
        <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" data-testid="collection-list">
          {collections.data?.map((c) => <CollectionRow key={c.id} collection={c} />)}
        </ul>
      </section>
    </KnowledgeFrame>
  );
}

function CreateCollectionForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [name, setName] = useState("");
  const create = useMutation(
    trpc.knowledge.createCollection.mutationOptions({
      onSuccess: () => {
        setName("");
        return queryClient.invalidateQueries(trpc.knowledge.collections.queryFilter());
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() && !create.isPending) create.mutate({ name });
  };
  return (
    <Panel title="New collection" description="A named set of documents, e.g. a product handbook or support articles.">
      <form onSubmit={submit} className="flex items-end gap-2" data-testid="create-collection-form">
        <div className="flex-1">
          <label htmlFor={`${id}-name`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
            Name
          </label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} className={inputClass} maxLength={200} />
        </div>
        <button type="submit" disabled={!name.trim() || create.isPending} className={primaryButtonClass}>
          {create.isPending ? "Creating…" : "Create"}
        </button>
      </form>
      {create.isError && <FormError message={errorMessage(create.error)} />}
    </Panel>
  );
}

type CollectionItem = { id: string; name: string; description: string; documentCount: number; chunkCount: number };

function CollectionRow({ collection }: { collection: CollectionItem }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canEdit = useSession().can("editor");
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(collection.name);
  const invalidate = () => queryClient.invalidateQueries(trpc.knowledge.collections.queryFilter());
  const rename = useMutation(trpc.knowledge.updateCollection.mutationOptions({ onSuccess: () => (setEditing(false), invalidate()) }));
  const remove = useMutation(trpc.knowledge.deleteCollection.mutationOptions({ onSuccess: invalidate }));
  const error = rename.error ?? remove.error;

  return (
    <li className="px-4 py-3" data-testid="collection-row">
      <div className="flex items-center gap-3">
        {editing ? (
          <form
            className="flex flex-1 gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              rename.mutate({ id: collection.id, name });
            }}
          >
            <input aria-label="Collection name" value={name} onChange={(e) => setName(e.target.value)} className={inputClass} autoFocus />
            <button type="submit" className={primaryButtonClass} disabled={rename.isPending}>
              Save
            </button>
            <button type="button" className={secondaryButtonClass} onClick={() => setEditing(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <>
            <Link href={`/knowledge/${collection.id}`} className="min-w-0 flex-1 truncate font-medium hover:underline">
              {collection.name}
            </Link>
            <span className="text-xs tabular-nums text-zinc-500">
              {collection.documentCount} {collection.documentCount === 1 ? "document" : "documents"} · {collection.chunkCount} chunks
            </span>
            {canEdit && (
              <>
            <button type="button" aria-label={`Rename ${collection.name}`} onClick={() => setEditing(true)} className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800">
              <PencilIcon width={14} height={14} />
            </button>
            <button
              type="button"
              aria-label={`Delete ${collection.name}`}
              disabled={remove.isPending}
              onClick={() => {
                if (window.confirm(`Delete "${collection.name}" with its ${collection.documentCount} documents? Assistants using it lose it.`)) remove.mutate({ id: collection.id });
              }}
              className="rounded p-1 text-zinc-500 hover:bg-red-50 hover:text-red-700 dark:hover:bg-red-950/40"
            >
              <TrashIcon width={14} height={14} />
            </button>
              </>
            )}
          </>
        )}
      </div>
      {error && <FormError message={errorMessage(error)} />}
    </li>
  );
}
