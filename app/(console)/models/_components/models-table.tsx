"use client";

import { useSession } from "@/app/_lib/session";
import { useQuery } from "@tanstack/react-query";
import { formatBytes, formatContext, formatParams } from "@/app/_lib/format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError } from "./panel";
import { RemoveModelButton } from "./remove-model-button";

type Model = RouterOutputs["models"]["list"][number];

const KIND_LABEL: Record<Model["kind"], string> = { base: "Base", finetuned: "Fine-tuned", lora: "LoRA" };

export function ModelsTable() {
  const trpc = useTRPC();
  const models = useQuery(
    trpc.models.list.queryOptions(undefined, {
      // Keep rows fresh while something is downloading.
      refetchInterval: (q) => (q.state.data?.some((m) => m.status === "downloading") ? 2000 : false),
    }),
  );

  return (
    <section aria-label="Installed models" className="mt-8">
      <h2 className="text-sm font-semibold">Installed models</h2>
      {models.isError && <FormError message={`Couldn’t load models: ${models.error.message}`} />}
      <div className="mt-3 overflow-x-auto rounded-xl border border-zinc-200 dark:border-zinc-800">
        <table className="w-full min-w-[48rem] text-left text-sm" data-testid="models-table">
          <thead className="bg-zinc-50 text-xs text-zinc-500 dark:bg-zinc-900">
            <tr>
              {["Name", "Kind", "Size", "Architecture", "Context", "Quant", "Params", "Memory", "Status", ""].map((h, i) => (
                <th key={i} scope="col" className="px-3 py-2 font-medium">
                  {h || <span className="sr-only">Actions</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody className="[&>tr:not([data-testid=model-error])]:border-t [&>tr]:border-zinc-200 dark:[&>tr]:border-zinc-800">
            {models.isPending && (
              <tr>
                <td colSpan={10} className="px-3 py-6 text-center text-zinc-400">
                  Loading…
                </td>
              </tr>
            )}
            {models.data?.length === 0 && (
              <tr>
                <td colSpan={10} className="px-3 py-6 text-center text-zinc-500">
                  No models yet. Add a local GGUF file or download one.
                </td>
              </tr>
            )}
            {models.data?.map((m) => <ModelRow key={m.id} model={m} />)}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ModelRow({ model: m }: { model: Model }) {
  const canRemove = useSession().can("admin");
  const cell = "px-3 py-2.5 whitespace-nowrap";
  return (
    <>
      <tr data-testid="model-row" data-model-id={m.id} className="align-top">
        <td className="max-w-64 px-3 py-2.5">
          <div className="truncate font-medium">{m.name}</div>
          <div className="truncate font-mono text-xs text-zinc-500" title={m.source}>
            {m.source}
          </div>
        </td>
        <td className={`${cell} text-zinc-600 dark:text-zinc-400`}>{KIND_LABEL[m.kind] ?? m.kind}</td>
        <td className={`${cell} tabular-nums`}>{formatBytes(m.sizeBytes)}</td>
        <td className={cell}>{m.architecture ?? "—"}</td>
        <td className={`${cell} tabular-nums`}>{formatContext(m.contextLength)}</td>
        <td className={cell}>{m.quantization ? <span className="font-mono text-xs">{m.quantization}</span> : "—"}</td>
        <td className={`${cell} tabular-nums`}>{formatParams(m.parameters)}</td>
        <td className={cell}>
          <FitsBadge fits={m.fitsInMemory} />
        </td>
        <td className={cell}>
          <ModelStatus status={m.status} />
        </td>
        <td className="px-3 py-2 text-right">
          {canRemove && <RemoveModelButton id={m.id} name={m.name} />}
        </td>
      </tr>
      {m.status === "error" && m.error && (
        <tr data-testid="model-error">
          <td colSpan={10} className="px-3 pb-3 pt-0">
            <p className="rounded-md bg-red-50 px-3 py-1.5 text-xs text-red-800 dark:bg-red-950/40 dark:text-red-300">{m.error}</p>
          </td>
        </tr>
      )}
    </>
  );
}

function FitsBadge({ fits }: { fits: boolean | null }) {
  if (fits === null) return <span className="text-zinc-400">—</span>;
  return fits ? (
    <span className="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400">
      Fits
    </span>
  ) : (
    <span
      title="Larger than the free memory on this machine"
      className="rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-700 dark:bg-amber-950/50 dark:text-amber-400"
    >
      Too large
    </span>
  );
}

function ModelStatus({ status }: { status: Model["status"] }) {
  const styles: Record<Model["status"], string> = {
    ready: "bg-emerald-50 text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400",
    downloading: "bg-accent-50 text-accent-700 dark:bg-accent-950/50 dark:text-accent-400",
    error: "bg-red-50 text-red-700 dark:bg-red-950/50 dark:text-red-400",
  };
  const label = { ready: "Ready", downloading: "Downloading…", error: "Error" }[status];
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${styles[status]}`}>{label}</span>;
}
