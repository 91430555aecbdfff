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
import { citationHref, linkCitationMarkers, markerNumber, splitCitations } from "./citation-markers";

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

/**
 * The passages an answer was given, under it. Only those the answer cites ([n] in its text) are
 * shown as used; the rest were retrieved but not cited, listed apart (collapsed) so an answer that
 * ignores its sources does not look sourced.
 */
export function CitationList({ citations, text, streaming = false, onOpen }: { citations: Citation[]; text: string; streaming?: boolean; onOpen: (c: Citation) => void }) {
  const { used, uncited } = splitCitations(text, citations);
  const summary =
    used.length > 0
      ? `${used.length} ${used.length === 1 ? "source" : "sources"} cited`
      : streaming
        ? `${citations.length} ${citations.length === 1 ? "passage" : "passages"} retrieved`
        : "No source cited";
  return (
    <div className="mt-3 text-xs" data-testid="citations" data-used={used.length} data-uncited={uncited.length}>
      {used.length > 0 ? (
        <details open data-testid="citations-used">
          <summary className="cursor-pointer select-none text-zinc-500">{summary}</summary>
          <CitationItems citations={used} onOpen={onOpen} testId="citation" />
        </details>
      ) : (
        <p className="text-zinc-500" data-testid="citations-none-cited">
          {summary}
          {!streaming && (
            <span className="text-zinc-400"> — the answer does not refer to the passages it was given, so it may not be grounded in them.</span>
          )}
        </p>
      )}
      {uncited.length > 0 && (
        <details className="mt-1.5" data-testid="citations-uncited">
          <summary className="cursor-pointer select-none text-zinc-400">
            {uncited.length} retrieved, not cited
          </summary>
          <CitationItems citations={uncited} onOpen={onOpen} testId="citation-uncited" muted />
        </details>
      )}
    </div>
  );
}

function CitationItems({ citations, onOpen, testId, muted = false }: { citations: Citation[]; onOpen: (c: Citation) => void; testId: string; muted?: boolean }) {
  return (
    <ul className="mt-2 space-y-1.5">
      {citations.map((c) => (
        <li key={c.n}>
          <button
            type="button"
            data-testid={testId}
            onClick={() => onOpen(c)}
            className={`w-full rounded-lg border px-2.5 py-1.5 text-left hover:border-accent-500 hover:bg-zinc-50 dark:hover:bg-zinc-900 ${muted ? "border-dashed border-zinc-200 opacity-80 dark:border-zinc-800" : "border-zinc-200 dark:border-zinc-800"}`}
          >
            <span className="font-medium text-zinc-800 dark:text-zinc-200">
              [{c.n}] {c.documentTitle}
              {sectionOf(c) && <span className="font-normal text-zinc-500"> — {sectionOf(c)}</span>}
            </span>
            <span className="mt-0.5 line-clamp-2 block text-zinc-500">{c.excerpt}</span>
          </button>
        </li>
      ))}
    </ul>
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
