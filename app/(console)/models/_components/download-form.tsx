"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { errorMessage, isAbortError } from "@/app/_lib/format";
import { useTRPC, useTRPCClient } from "@/app/_lib/trpc";
import { FormError, FormSuccess, Panel, inputClass, primaryButtonClass, secondaryButtonClass } from "./panel";
import { ProgressBar } from "./progress-bar";

type DownloadState =
  | { phase: "idle" }
  | { phase: "running"; done: number; total: number | null }
  | { phase: "done"; name: string }
  | { phase: "error"; message: string };

const HF_URI = /^hf:\S+$/i;

export function DownloadForm() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const id = useId();
  const [uri, setUri] = useState("");
  const [name, setName] = useState("");
  const [state, setState] = useState<DownloadState>({ phase: "idle" });
  const abortRef = useRef<AbortController | null>(null);

  useEffect(() => () => abortRef.current?.abort(), []);

  const trimmed = uri.trim();
  const uriInvalid = trimmed !== "" && !HF_URI.test(trimmed);
  const running = state.phase === "running";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!trimmed || uriInvalid || running) return;
    const controller = new AbortController();
    abortRef.current = controller;
    setState({ phase: "running", done: 0, total: null });
    const refresh = () => queryClient.invalidateQueries(trpc.models.list.queryFilter());
    void refresh();
    try {
      const stream = await client.models.download.mutate(
        { uri: trimmed, ...(name.trim() ? { name: name.trim() } : {}) },
        { signal: controller.signal },
      );
      let finished = false;
      for await (const event of stream) {
        if (event.type === "progress") {
          setState({ phase: "running", done: event.downloadedBytes, total: event.totalBytes });
        } else if (event.type === "done") {
          finished = true;
          setState({ phase: "done", name: event.model.name });
          setUri("");
          setName("");
        }
      }
      if (!finished) {
        setState(controller.signal.aborted ? { phase: "idle" } : { phase: "error", message: "The download ended unexpectedly." });
      }
    } catch (err) {
      setState(isAbortError(err, controller.signal) ? { phase: "idle" } : { phase: "error", message: errorMessage(err) });
    } finally {
      abortRef.current = null;
      void refresh();
    }
  };

  return (
    <Panel title="Download from Hugging Face" description="Fetch a GGUF file by its hf: URI into the data directory.">
      <form onSubmit={submit} className="space-y-2" data-testid="download-form">
        <div>
          <label htmlFor={`${id}-uri`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
            Model URI
          </label>
          <input
            id={`${id}-uri`}
            value={uri}
            onChange={(e) => setUri(e.target.value)}
            placeholder="hf:owner/repo/model-Q4_K_M.gguf"
            aria-invalid={uriInvalid || undefined}
            aria-describedby={`${id}-uri-hint`}
            disabled={running}
            className={`${inputClass} font-mono`}
            required
            spellCheck={false}
            autoComplete="off"
          />
          <p id={`${id}-uri-hint`} className={`mt-1 text-xs ${uriInvalid ? "text-red-600 dark:text-red-400" : "text-zinc-400"}`}>
            {uriInvalid ? "Hugging Face URIs start with hf: — e.g. hf:owner/repo/file.gguf" : "Format: hf:owner/repo/file.gguf"}
          </p>
        </div>
        <div className="flex items-end gap-2">
          <div className="flex-1">
            <label htmlFor={`${id}-name`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Display name <span className="font-normal text-zinc-400">(optional)</span>
            </label>
            <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} disabled={running} className={inputClass} />
          </div>
          {running ? (
            <button type="button" onClick={() => abortRef.current?.abort()} className={secondaryButtonClass}>
              Cancel
            </button>
          ) : (
            <button type="submit" disabled={!trimmed || uriInvalid} className={primaryButtonClass}>
              Download
            </button>
          )}
        </div>
        {state.phase === "running" && <ProgressBar done={state.done} total={state.total} label="Download progress" />}
        {state.phase === "error" && <FormError message={state.message} />}
        {state.phase === "done" && <FormSuccess message={`Downloaded ${state.name}.`} />}
      </form>
    </Panel>
  );
}
