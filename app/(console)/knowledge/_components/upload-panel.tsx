"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { useId, useRef, useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, Panel, inputClass, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";
import { fileToBase64, oversizeMessage } from "./read-file";

export type ChunkSettings = { targetTokens: number; overlap: number };
type UploadInput = { collectionId: string; fileName: string; mime: string | null; data: string; chunking: ChunkSettings };

interface Props {
  collectionId: string;
  chunking: ChunkSettings;
  onChunking: (c: ChunkSettings) => void;
  busy: boolean;
  /** Indexes one file; resolves false when it failed (the error is shown by the parent). */
  onIndex: (input: UploadInput) => Promise<boolean>;
}

export function UploadPanel({ collectionId, chunking, onChunking, busy, onIndex }: Props) {
  const trpc = useTRPC();
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const status = useQuery(trpc.knowledge.status.queryOptions());
  const [files, setFiles] = useState<File[]>([]);
  const [localError, setLocalError] = useState<string | null>(null);
  const preview = useMutation(trpc.knowledge.preview.mutationOptions());
  const maxBytes = status.data?.maxFileBytes ?? Infinity;

  const pick = (list: FileList | null) => {
    const chosen = [...(list ?? [])];
    preview.reset();
    const tooBig = chosen.map((f) => oversizeMessage(f, maxBytes)).filter((m): m is string => m !== null);
    setLocalError(tooBig.length ? tooBig.join("\n") : null);
    setFiles(tooBig.length ? [] : chosen);
  };

  const input = async (file: File): Promise<UploadInput> => ({
    collectionId,
    fileName: file.name,
    mime: file.type || null,
    data: await fileToBase64(file),
    chunking,
  });

  const showPreview = async () => {
    const first = files[0];
    if (first) preview.mutate({ ...(await input(first)), show: 5 });
  };

  const indexAll = async () => {
    for (const f of files) if (!(await onIndex(await input(f)))) return;
    setFiles([]);
    preview.reset();
    if (inputRef.current) inputRef.current.value = "";
  };

  const numberField = (label: string, value: number, min: number, max: number, step: number, set: (n: number) => void) => (
    <label className="block text-xs font-medium text-zinc-600 dark:text-zinc-400">
      {label}
      <input type="number" min={min} max={max} step={step} value={value} onChange={(e) => set(Number(e.target.value))} className={`${inputClass} mt-1 w-28`} />
    </label>
  );

  return (
    <Panel
      title="Add documents"
      description={`${status.data?.extensions.join(", ") ?? ""} · up to ${status.data ? `${Math.round(status.data.maxFileBytes / 1048576)} MiB` : "…"} per file. Preview the chunks, then index.`}
    >
      <div className="flex flex-wrap items-end gap-3" data-testid="upload-form">
        <label htmlFor={`${id}-file`} className="block flex-1 text-xs font-medium text-zinc-600 dark:text-zinc-400">
          Files
          <input
            id={`${id}-file`}
            ref={inputRef}
            type="file"
            multiple
            accept={status.data?.extensions.join(",")}
            onChange={(e) => pick(e.target.files)}
            data-testid="upload-input"
            className="mt-1 block w-full text-sm"
          />
        </label>
        {numberField("Chunk size (tokens)", chunking.targetTokens, 20, 2000, 10, (n) => onChunking({ ...chunking, targetTokens: n }))}
        {numberField("Overlap (%)", Math.round(chunking.overlap * 100), 0, 50, 5, (n) => onChunking({ ...chunking, overlap: n / 100 }))}
        <button type="button" className={secondaryButtonClass} disabled={files.length === 0 || preview.isPending || busy} onClick={() => void showPreview()} data-testid="preview-button">
          {preview.isPending ? "Reading…" : "Preview"}
        </button>
        <button type="button" className={primaryButtonClass} disabled={files.length === 0 || busy} onClick={() => void indexAll()} data-testid="index-button">
          {busy ? "Indexing…" : files.length > 1 ? `Index ${files.length} files` : "Index"}
        </button>
      </div>
      {localError && <FormError message={localError} />}
      {preview.isError && <FormError message={errorMessage(preview.error)} />}
      {preview.data && (
        <div className="mt-4" data-testid="chunk-preview">
          <p className="text-xs text-zinc-500">
            {preview.data.title ? `“${preview.data.title}” · ` : ""}
            {preview.data.format} · {preview.data.characters.toLocaleString("en")} characters · ~{preview.data.tokenEstimate.toLocaleString("en")} tokens ·{" "}
            <strong>{preview.data.chunkCount} chunks</strong>
            {preview.data.chunkCount > preview.data.chunks.length ? ` (first ${preview.data.chunks.length} shown)` : ""}
          </p>
          {preview.data.warnings.map((w) => (
            <p key={w} className="mt-1 text-xs text-amber-700 dark:text-amber-400">
              {w}
            </p>
          ))}
          <ol className="mt-2 space-y-2">
            {preview.data.chunks.map((c) => (
              <li key={c.ordinal} className="rounded-lg border border-zinc-200 p-2 text-xs dark:border-zinc-800" data-testid="preview-chunk">
                <div className="mb-1 flex justify-between text-zinc-500">
                  <span>
                    #{c.ordinal + 1}
                    {c.heading ? ` · ${c.heading}` : ""}
                  </span>
                  <span className="tabular-nums">~{c.tokenEstimate} tokens</span>
                </div>
                <p className="line-clamp-4 whitespace-pre-wrap text-zinc-700 dark:text-zinc-300">{c.text}</p>
              </li>
            ))}
          </ol>
        </div>
      )}
    </Panel>
  );
}
