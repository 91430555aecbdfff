"use client";

import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { errorMessage, formatBytes } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError } from "../../models/_components/panel";
import { KnowledgeFrame } from "./page-frame";
import { DocumentText } from "./document-text";
import { DocumentTitle } from "./document-title";

/** The chunk id in "#chunk-<id>", or null. */
export function chunkFromHash(hash: string): number | null {
  const m = /^#chunk-(\d+)$/.exec(hash);
  return m ? Number(m[1]) : null;
}

function useHashChunk(): number | null {
  const [chunk, setChunk] = useState<number | null>(null);
  useEffect(() => {
    const read = () => setChunk(chunkFromHash(window.location.hash));
    read();
    window.addEventListener("hashchange", read);
    return () => window.removeEventListener("hashchange", read);
  }, []);
  return chunk;
}

/** /knowledge/doc/<id>#chunk-<chunkId>: the document's text, scrolled to the cited passage. */
export function DocumentView({ documentId }: { documentId: string }) {
  const trpc = useTRPC();
  const doc = useQuery(trpc.knowledge.document.queryOptions({ id: documentId }));
  const focus = useHashChunk();
  const missing = focus !== null && doc.data && !doc.data.chunks.some((c) => c.id === focus);

  return (
    <KnowledgeFrame collectionId={doc.data?.document.collectionId}>
      {doc.isError && <FormError message={errorMessage(doc.error)} />}
      {doc.data && (
        <>
          <DocumentTitle key={doc.data.document.title} id={doc.data.document.id} title={doc.data.document.title} />
          <p className="mt-1 text-xs text-zinc-500">
            {doc.data.document.fileName} · {formatBytes(doc.data.document.sizeBytes)} · {doc.data.chunks.length} chunks
          </p>
          {missing && (
            <p role="status" className="mt-3 text-sm text-amber-700 dark:text-amber-400">
              The cited passage is no longer in this document (it was re-indexed since); showing the whole text.
            </p>
          )}
          <div className="mt-6">
            <DocumentText text={doc.data.text} chunks={doc.data.chunks} focusChunkId={focus} />
          </div>
        </>
      )}
    </KnowledgeFrame>
  );
}
