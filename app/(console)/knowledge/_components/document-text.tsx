"use client";

import { useEffect, useMemo, useRef } from "react";

type ChunkSpan = { id: number; ordinal: number; heading: string | null; startOffset: number; endOffset: number };

/** Splits the text at chunk starts (chunks overlap; each piece belongs to the chunk that starts it). */
export function segmentsOf(text: string, chunks: readonly ChunkSpan[]): Array<{ chunk: ChunkSpan | null; text: string }> {
  const sorted = [...chunks].sort((a, b) => a.startOffset - b.startOffset || a.ordinal - b.ordinal);
  const out: Array<{ chunk: ChunkSpan | null; text: string }> = [];
  const first = sorted[0]?.startOffset ?? text.length;
  if (first > 0) out.push({ chunk: null, text: text.slice(0, first) });
  sorted.forEach((c, i) => {
    const end = sorted[i + 1]?.startOffset ?? text.length;
    out.push({ chunk: c, text: text.slice(c.startOffset, Math.max(c.startOffset, end)) });
  });
  return out;
}

/** A document's text, one anchored block per chunk (#chunk-<id>); the focused chunk is highlighted and scrolled to. */
export function DocumentText({ text, chunks, focusChunkId }: { text: string; chunks: readonly ChunkSpan[]; focusChunkId: number | null }) {
  const segments = useMemo(() => segmentsOf(text, chunks), [text, chunks]);
  const focusRef = useRef<HTMLElement>(null);
  useEffect(() => {
    focusRef.current?.scrollIntoView({ block: "center" });
  }, [focusChunkId, segments]);

  return (
    <div className="whitespace-pre-wrap break-words text-sm leading-relaxed text-zinc-800 dark:text-zinc-200" data-testid="document-text">
      {segments.map((s, i) => {
        const focused = s.chunk !== null && s.chunk.id === focusChunkId;
        return (
          <span
            key={s.chunk?.id ?? `pre-${i}`}
            id={s.chunk ? `chunk-${s.chunk.id}` : undefined}
            ref={focused ? focusRef : undefined}
            data-testid={focused ? "focused-passage" : undefined}
            title={s.chunk ? `Chunk ${s.chunk.ordinal + 1}${s.chunk.heading ? ` · ${s.chunk.heading}` : ""}` : undefined}
            className={focused ? "box-decoration-clone rounded bg-amber-100 ring-2 ring-amber-300 dark:bg-amber-900/40 dark:ring-amber-700" : undefined}
          >
            {s.text}
          </span>
        );
      })}
    </div>
  );
}
