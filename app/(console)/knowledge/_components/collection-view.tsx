"use client";

import { useSession } from "@/app/_lib/session";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC, useTRPCClient } from "@/app/_lib/trpc";
import { FormError, secondaryButtonClass } from "../../models/_components/panel";
import { DocumentsTable } from "./documents-table";
import { KnowledgeFrame } from "./page-frame";
import { IndexProgressBar, type IndexProgressView } from "./index-progress";
import { UploadPanel, type ChunkSettings } from "./upload-panel";

type IndexEvent = { type: "progress"; progress: IndexProgressView } | { type: "done"; result: { warnings: string[] } };

/** Runs one streaming indexing procedure, reporting progress; resolves with its warnings. */
export async function runIndexing(stream: AsyncIterable<IndexEvent>, onProgress: (p: IndexProgressView) => void): Promise<string[]> {
  let warnings: string[] = [];
  for await (const ev of stream) {
    if (ev.type === "progress") onProgress(ev.progress);
    else warnings = ev.result.warnings;
  }
  return warnings;
}

/** /knowledge/<id>: upload with preview, indexing progress, the documents, reindex and delete. */
export function CollectionView({ collectionId }: { collectionId: string }) {
  const canEdit = useSession().can("editor");
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const collection = useQuery(trpc.knowledge.collection.queryOptions({ id: collectionId }));
  const [chunking, setChunking] = useState<ChunkSettings>({ targetTokens: 300, overlap: 0.15 });
  const [progress, setProgress] = useState<IndexProgressView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notes, setNotes] = useState<string[]>([]);

  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.knowledge.documents.queryFilter({ collectionId })),
      queryClient.invalidateQueries(trpc.knowledge.collections.queryFilter()),
    ]);

  /** One indexing job at a time per page: upload, reindex a document or the whole collection. */
  const track = async (start: () => Promise<AsyncIterable<IndexEvent>>) => {
    setBusy(true);
    setError(null);
    setNotes([]);
    try {
      const warnings = await runIndexing(await start(), (p) => {
        setProgress(p);
        if (p.phase === "storing" && p.done === p.total) void refresh();
      });
      setNotes(warnings);
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    } finally {
      setBusy(false);
      setProgress(null);
      void refresh();
    }
  };

  return (
    <KnowledgeFrame wide>
      {collection.isError && <FormError message={errorMessage(collection.error)} />}
      <header className="mt-1 flex items-center gap-3">
        <h1 className="flex-1 text-xl font-semibold tracking-tight">{collection.data?.name ?? "…"}</h1>
        {canEdit && (
        <button
          type="button"
          className={secondaryButtonClass}
          disabled={busy}
          data-testid="reindex-collection"
          onClick={() => void track(() => client.knowledge.reindexCollection.mutate({ collectionId, chunking }))}
        >
          Re-index all
        </button>
        )}
      </header>
      {canEdit && (
      <div className="mt-6">
        <UploadPanel
          collectionId={collectionId}
          chunking={chunking}
          onChunking={setChunking}
          busy={busy}
          onIndex={(input) => track(() => client.knowledge.upload.mutate(input))}
        />
      </div>
      )}
      <div aria-live="polite">
        {progress && <IndexProgressBar progress={progress} />}
        {error && <FormError message={error} />}
        {notes.length > 0 && (
          <ul className="mt-2 list-disc pl-5 text-xs text-amber-700 dark:text-amber-400" data-testid="index-warnings">
            {notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        )}
      </div>
      <DocumentsTable
        collectionId={collectionId}
        busy={busy}
        onReindex={(id) => void track(() => client.knowledge.reindexDocument.mutate({ id, chunking }))}
      />
    </KnowledgeFrame>
  );
}
