"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type DragEvent } from "react";
import { formatBytes } from "@/app/_lib/format";
import { formatCount, formatUploadProblem } from "@/app/_lib/studio-format";
import type { UploadProblem, UploadResult } from "@/app/_lib/studio-types";
import { UPLOAD_ACCEPT, uploadDataset } from "@/app/_lib/studio-upload";
import type { WizardDataset } from "@/app/_lib/studio-wizard";
import { useTRPC } from "@/app/_lib/trpc";
import { KIND_LABEL } from "../../_components/datasets-list";
import { inputClass, labelClass, primaryButtonClass } from "../../_components/ui";

type UploadState =
  | { phase: "idle" }
  | { phase: "uploading"; fraction: number }
  | { phase: "done"; result: UploadResult }
  | { phase: "error"; problems: UploadProblem[] };

const baseName = (name: string) => name.replace(/\.[^.]+$/, "");

/** Step 1: drop or pick files (plain text/Markdown documents or JSONL Q&A/chat), or reuse a dataset. */
export function StepData({ selected, onSelect }: { selected: WizardDataset | null; onSelect: (d: WizardDataset) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [files, setFiles] = useState<File[]>([]);
  const [name, setName] = useState("");
  const [dragging, setDragging] = useState(false);
  const [state, setState] = useState<UploadState>({ phase: "idle" });
  const datasets = useQuery(trpc.studio.datasets.list.queryOptions());

  const addFiles = (list: FileList | null) => {
    if (!list?.length) return;
    const incoming = [...list];
    setFiles((prev) => [...prev.filter((f) => !incoming.some((n) => n.name === f.name)), ...incoming]);
    if (!name && incoming[0]) setName(baseName(incoming[0].name));
    setState({ phase: "idle" });
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    addFiles(e.dataTransfer.files);
  };

  const upload = async () => {
    if (!files.length || state.phase === "uploading") return;
    setState({ phase: "uploading", fraction: 0 });
    const outcome = await uploadDataset({ name: name.trim() || baseName(files[0]!.name), files }, { onProgress: (fraction) => setState({ phase: "uploading", fraction }) });
    if (!outcome.ok) return setState({ phase: "error", problems: outcome.problems });
    setState({ phase: "done", result: outcome.result });
    setFiles([]);
    const d = outcome.result.dataset;
    onSelect({ id: d.id, name: d.name, kind: d.format === "chat" ? "chat" : "text", recordCount: d.recordCount });
    void queryClient.invalidateQueries(trpc.studio.datasets.list.queryFilter());
  };

  const problemFiles = state.phase === "error" ? new Set(state.problems.map((p) => p.file).filter(Boolean)) : new Set<string>();

  return (
    <div className="space-y-6">
      <div>
        <h2 className="text-base font-semibold">Upload your data</h2>
        <p className="mt-1 text-sm text-zinc-500">
          Documents as <code>.txt</code>, <code>.md</code>, <code>.pdf</code> or <code>.docx</code> (the model learns your domain’s language), or question–answer pairs as{" "}
          <code>.jsonl</code> with <code>{'{"question": …, "answer": …}'}</code> or <code>{'{"messages": […]}'}</code> per line (it learns how to answer).
        </p>
      </div>

      <div
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
        className={`flex flex-col items-center justify-center gap-2 rounded-xl border-2 border-dashed px-4 py-10 text-center transition-colors ${
          dragging ? "border-accent-500 bg-accent-50 dark:bg-accent-950/30" : "border-zinc-300 dark:border-zinc-700"
        }`}
      >
        <p className="text-sm font-medium">Drag files here</p>
        <p className="text-xs text-zinc-500">or</p>
        <label htmlFor={`${id}-files`} className="cursor-pointer rounded-lg border border-zinc-200 px-3 py-1.5 text-sm font-medium text-zinc-700 focus-within:outline-2 focus-within:outline-accent-500 hover:bg-zinc-100 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800">
          Choose files
          <input
            id={`${id}-files`}
            type="file"
            multiple
            accept={UPLOAD_ACCEPT}
            className="sr-only"
            data-testid="file-input"
            onChange={(e) => {
              addFiles(e.target.files);
              e.target.value = "";
            }}
          />
        </label>
      </div>

      {files.length > 0 && (
        <div className="space-y-3">
          <ul className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 text-sm dark:divide-zinc-800 dark:border-zinc-800" aria-label="Files to upload">
            {files.map((f) => (
              <li key={f.name} className="flex items-center justify-between gap-2 px-3 py-2" data-testid="pending-file">
                <span className={`truncate ${problemFiles.has(f.name) ? "text-red-700 dark:text-red-400" : ""}`}>{f.name}</span>
                <span className="flex items-center gap-3">
                  <span className="tabular-nums text-xs text-zinc-500">{formatBytes(f.size)}</span>
                  <button type="button" onClick={() => setFiles((prev) => prev.filter((x) => x !== f))} className="rounded px-1.5 text-xs text-zinc-500 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800" aria-label={`Remove ${f.name}`}>
                    Remove
                  </button>
                </span>
              </li>
            ))}
          </ul>
          <div className="flex flex-wrap items-end gap-2">
            <div className="min-w-56 flex-1">
              <label htmlFor={`${id}-name`} className={labelClass}>
                Dataset name
              </label>
              <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} maxLength={200} className={inputClass} data-testid="dataset-name" />
            </div>
            <button type="button" onClick={upload} disabled={state.phase === "uploading"} className={primaryButtonClass} data-testid="upload-button">
              {state.phase === "uploading" ? `Uploading… ${Math.round(state.fraction * 100)}%` : `Upload ${files.length} ${files.length === 1 ? "file" : "files"}`}
            </button>
          </div>
        </div>
      )}

      {state.phase === "error" && (
        <div role="alert" data-testid="upload-errors" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900/60 dark:bg-red-950/40 dark:text-red-300">
          <p className="font-medium">Nothing was uploaded — fix these and try again:</p>
          <ul className="mt-1 list-disc pl-5">
            {state.problems.map((p, i) => (
              <li key={i} data-testid="upload-error">
                {formatUploadProblem(p)}
              </li>
            ))}
          </ul>
        </div>
      )}

      {state.phase === "done" && (
        <div role="status" data-testid="upload-result" className="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900 dark:border-emerald-900/60 dark:bg-emerald-950/30 dark:text-emerald-300">
          <p className="font-medium">
            Uploaded “{state.result.dataset.name}”: {formatCount(state.result.dataset.recordCount)} records, about {formatCount(state.result.dataset.tokenCount)} tokens.
          </p>
          <ul className="mt-1 space-y-0.5">
            {state.result.files.map((f) => (
              <li key={f.name}>
                {f.name}: {formatCount(f.records)} records
                {f.warnings.length > 0 && (
                  <ul className="list-disc pl-5 text-amber-800 dark:text-amber-300">
                    {f.warnings.map((w, i) => (
                      <li key={i}>{w}</li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}

      {(datasets.data?.length ?? 0) > 0 && (
        <div>
          <label htmlFor={`${id}-existing`} className={labelClass}>
            Or use a dataset you uploaded before
          </label>
          <select
            id={`${id}-existing`}
            value={selected?.id ?? ""}
            onChange={(e) => {
              const d = datasets.data?.find((x) => x.id === e.target.value);
              if (d) onSelect({ id: d.id, name: d.name, kind: d.kind, recordCount: d.recordCount });
            }}
            className={`${inputClass} max-w-md`}
            data-testid="dataset-select"
          >
            <option value="" disabled>
              Choose a dataset…
            </option>
            {datasets.data?.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} — {KIND_LABEL[d.kind]}, {formatCount(d.recordCount)} records
              </option>
            ))}
          </select>
        </div>
      )}

      {selected && (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="selected-dataset">
          Training on <span className="font-medium text-zinc-900 dark:text-zinc-100">{selected.name}</span> ({KIND_LABEL[selected.kind]}, {formatCount(selected.recordCount)} records).
        </p>
      )}
    </div>
  );
}
