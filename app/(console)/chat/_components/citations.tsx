"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, type MouseEvent } from "react";
import { CloseIcon } from "@/app/_components/icons";
import { Markdown } from "@/app/_components/markdown";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import type { Citation } from "@/app/_lib/types";
import { DocumentText } from "../../knowledge/_components/document-text";
import { citationHref, linkCitationMarkers, markerNumber } from "./citation-markers";

/** The answer's Markdown with its [n] markers clickable (they open the cited passage). */
export function CitedMarkdown({ text, citations, onOpen }: { text: string; citations: Citation[]; onOpen: (c: Citation) => void }) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const link = (e.target as HTMLElement).closest("a");
    const c = byN.get(markerNumber(link?.getAttribute("href") ?? null) ?? -1);
    if (!c) return;
    e.preventDefault();
    onOpen(c);
  };
  return (
    <div onClickCapture={onClick} className="[&_a[href^='#cite-']]:no-underline [&_a[href^='#cite-']]:font-medium [&_a[href^='#cite-']]:text-accent-600">
      <Markdown text={linkCitationMarkers(text, new Set(byN.keys()))} />
    </div>
  );
}

/** The heading path below the document's title ("Tides" for "Harbour handbook > Tides"), if any. */
export function sectionOf(c: Pick<Citation, "heading" | "documentTitle">): string | null {
  const h = c.heading?.startsWith(`${c.documentTitle} > `) ? c.heading.slice(c.documentTitle.length + 3) : c.heading;
  return h && h !== c.documentTitle ? h : null;
}

/** The passages an answer was given, under it: title (and section) plus the passage excerpt. */
export function CitationList({ citations, onOpen }: { citations: Citation[]; onOpen: (c: Citation) => void }) {
  return (
    <details className="mt-3 text-xs" data-testid="citations" open>
      <summary className="cursor-pointer select-none text-zinc-500">
        {citations.length} {citations.length === 1 ? "source" : "sources"}
      </summary>
      <ol className="mt-2 space-y-1.5">
        {citations.map((c) => (
          <li key={c.n}>
            <button
              type="button"
              data-testid="citation"
              onClick={() => onOpen(c)}
              className="w-full rounded-lg border border-zinc-200 px-2.5 py-1.5 text-left hover:border-accent-500 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900"
            >
              <span className="font-medium text-zinc-800 dark:text-zinc-200">
                [{c.n}] {c.documentTitle}
                {sectionOf(c) && <span className="font-normal text-zinc-500"> — {sectionOf(c)}</span>}
              </span>
              <span className="mt-0.5 line-clamp-2 block text-zinc-500">{c.excerpt}</span>
            </button>
          </li>
        ))}
      </ol>
    </details>
  );
}

/** A side drawer with the cited document, scrolled to the passage. */
export function CitationDrawer({ citation, onClose }: { citation: Citation; onClose: () => void }) {
  const trpc = useTRPC();
  const doc = useQuery(trpc.knowledge.document.queryOptions({ id: citation.documentId }));
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  const stale = doc.data && !doc.data.chunks.some((c) => c.id === citation.chunkId);

  return (
    <div className="fixed inset-0 z-40 flex justify-end bg-black/20" onClick={onClose}>
      <aside
        role="dialog"
        aria-label={`Source [${citation.n}]: ${citation.documentTitle}`}
        data-testid="citation-drawer"
        onClick={(e) => e.stopPropagation()}
        className="flex h-full w-full max-w-xl flex-col border-l border-zinc-200 bg-white shadow-xl dark:border-zinc-800 dark:bg-zinc-950"
      >
        <header className="flex items-center gap-2 border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
          <h2 className="min-w-0 flex-1 truncate text-sm font-semibold">
            [{citation.n}] {citation.documentTitle}
          </h2>
          <Link href={citationHref(citation)} className="text-xs text-accent-600 hover:underline">
            Open document
          </Link>
          <button type="button" aria-label="Close" onClick={onClose} className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800">
            <CloseIcon width={16} height={16} />
          </button>
        </header>
        <div className="min-h-0 flex-1 overflow-y-auto px-4 py-4">
          {doc.isError && <p className="text-sm text-red-700">{errorMessage(doc.error)}</p>}
          {stale && (
            <p className="mb-3 text-xs text-amber-700 dark:text-amber-400">
              The document was re-indexed since this answer; the quoted passage was: “{citation.excerpt}”
            </p>
          )}
          {doc.data && <DocumentText text={doc.data.text} chunks={doc.data.chunks} focusChunkId={citation.chunkId} />}
        </div>
      </aside>
    </div>
  );
}
