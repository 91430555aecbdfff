"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { ProgressTrack } from "@/app/_components/progress-track";
import { formatBytes, formatPercent, isAbortError } from "@/app/_lib/format";
import { cancelModelUpload, uploadModelFile, type UploadProgress } from "@/app/_lib/model-upload";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, FormSuccess, Panel, inputClass, primaryButtonClass, secondaryButtonClass } from "./panel";

type UploadView =
  | { phase: "idle" }
  | { phase: "running"; progress: UploadProgress; startedAt: number }
  | { phase: "paused"; sent: number }
  | { phase: "done"; name: string }
  | { phase: "error"; message: string };

const PHASE_TEXT: Record<UploadProgress["phase"], string> = {
  starting: "Starting…",
  checking: "Resuming: checking the part already on the server…",
  uploading: "Uploading…",
  verifying: "Checking the file on the server (SHA-256, GGUF header)…",
};

/**
 * Upload a GGUF from this computer: sent in chunks with progress, resumable (pause, a dropped
 * connection or a reload continue where the server's copy ends; pick the same file again), its
 * SHA-256 compared on arrival and its GGUF header validated before it is registered.
 */
export function UploadModelForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const models = useQuery(trpc.models.list.queryOptions());
  const limits = useQuery(trpc.models.uploadLimits.queryOptions());
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [baseModelId, setBaseModelId] = useState("");
  const [view, setView] = useState<UploadView>({ phase: "idle" });
  const abortRef = useRef<AbortController | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => () => abortRef.current?.abort(), []);
  const bases = models.data?.filter((m) => m.kind !== "lora" && m.status === "ready") ?? [];
  const tooBig = !!file && !!limits.data && file.size > limits.data.maxBytes;
  const running = view.phase === "running";

  const start = async (e?: FormEvent) => {
    e?.preventDefault();
    if (!file || running || tooBig) return;
    const controller = new AbortController();
    abortRef.current = controller;
    setView({ phase: "running", progress: { phase: "starting", sent: 0, total: file.size, resumedFrom: 0 }, startedAt: Date.now() });
    try {
      const model = await uploadModelFile(file, {
        name: name.trim() || undefined,
        baseModelId: baseModelId || undefined,
        signal: controller.signal,
        onProgress: (progress) => setView((v) => (v.phase === "running" ? { ...v, progress } : v)),
      });
      setView({ phase: "done", name: model.name });
      setFile(null);
      if (inputRef.current) inputRef.current.value = "";
      setName("");
      void queryClient.invalidateQueries(trpc.models.list.queryFilter());
    } catch (err) {
      if (isAbortError(err) || controller.signal.aborted) return;
      setView({ phase: "error", message: (err as Error).message });
    }
  };
  const pause = () => {
    const sent = view.phase === "running" ? view.progress.sent : 0;
    abortRef.current?.abort();
    setView({ phase: "paused", sent });
  };
  const cancel = async () => {
    abortRef.current?.abort();
    if (file) await cancelModelUpload(file);
    setView({ phase: "idle" });
  };

  const p = view.phase === "running" ? view.progress : null;
  const rate = p && view.phase === "running" && p.phase === "uploading" ? (p.sent - p.resumedFrom) / Math.max(0.5, (Date.now() - view.startedAt) / 1000) : null;

  return (
    <Panel title="Upload a GGUF" description="From this computer, with progress; an interrupted upload resumes where it stopped.">
      <form onSubmit={start} className="space-y-2" data-testid="upload-model-form">
        <div>
          <label htmlFor={`${id}-file`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
            GGUF file
          </label>
          <input
            id={`${id}-file`}
            ref={inputRef}
            type="file"
            accept=".gguf"
            disabled={running}
            data-testid="upload-model-input"
            aria-describedby={`${id}-file-hint`}
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null);
              setView({ phase: "idle" });
            }}
            className="block w-full text-sm file:mr-3 file:rounded-md file:border-0 file:bg-zinc-100 file:px-3 file:py-1.5 file:text-sm file:font-medium dark:file:bg-zinc-800"
          />
          <p id={`${id}-file-hint`} className="mt-1 text-xs text-zinc-500">
            {file
              ? `${file.name} · ${formatBytes(file.size)}`
              : `Up to ${limits.data ? formatBytes(limits.data.maxBytes) : "…"} (ATELIER_MAX_MODEL_UPLOAD_MB). Larger files: copy them to the server and add them by path.`}
          </p>
          {tooBig && <FormError message={`${file!.name} is ${formatBytes(file!.size)}; the upload limit is ${formatBytes(limits.data!.maxBytes)}.`} />}
        </div>
        <div className="grid gap-2 sm:grid-cols-2">
          <div>
            <label htmlFor={`${id}-name`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Display name <span className="font-normal text-zinc-400">(optional)</span>
            </label>
            <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} disabled={running} className={inputClass} maxLength={200} />
          </div>
          <div>
            <label htmlFor={`${id}-base`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Base model <span className="font-normal text-zinc-400">(LoRA adapters only)</span>
            </label>
            <select id={`${id}-base`} value={baseModelId} onChange={(e) => setBaseModelId(e.target.value)} disabled={running} className={inputClass}>
              <option value="">— not an adapter —</option>
              {bases.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </div>
        </div>

        {p && (
          <div className="mt-3" data-testid="upload-progress" data-phase={p.phase}>
            <div className="mb-1 flex justify-between gap-2 text-xs tabular-nums text-zinc-500">
              <span>
                {PHASE_TEXT[p.phase]} {formatBytes(p.sent)} of {formatBytes(p.total)}
                {rate ? ` · ${formatBytes(rate)}/s` : ""}
                {p.resumedFrom > 0 ? ` · resumed at ${formatBytes(p.resumedFrom)}` : ""}
              </span>
              <span>{formatPercent(p.sent, p.total)}</span>
            </div>
            <ProgressTrack percent={p.total > 0 ? (p.sent / p.total) * 100 : null} label="Upload progress" />
          </div>
        )}
        {view.phase === "paused" && (
          <p className="text-xs text-zinc-500" data-testid="upload-paused">
            Paused at {formatBytes(view.sent)}. Resume continues from what the server has (also after a reload: pick the same file).
          </p>
        )}

        <div className="flex flex-wrap gap-2">
          {!running && (
            <button type="submit" disabled={!file || tooBig} className={primaryButtonClass} data-testid="upload-model-start">
              {view.phase === "paused" ? "Resume upload" : "Upload"}
            </button>
          )}
          {running && (
            <button type="button" onClick={pause} className={secondaryButtonClass} data-testid="upload-model-pause">
              Pause
            </button>
          )}
          {(running || view.phase === "paused") && (
            <button type="button" onClick={() => void cancel()} className={secondaryButtonClass} data-testid="upload-model-cancel">
              Cancel
            </button>
          )}
        </div>
        {view.phase === "error" && <FormError message={view.message} />}
        {view.phase === "done" && <FormSuccess message={`Uploaded and registered ${view.name}.`} />}
      </form>
    </Panel>
  );
}
