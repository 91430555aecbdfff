"use client";

import { useQuery } from "@tanstack/react-query";
import { formatBackend, formatBytes } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

export function BackendStatus() {
  const trpc = useTRPC();
  const status = useQuery(trpc.system.status.queryOptions(undefined, { refetchInterval: 15_000 }));
  const s = status.data;

  const label = s ? formatBackend(s) : status.isError ? "Backend unreachable" : "Checking backend…";
  const dot = s ? "bg-emerald-500" : status.isError ? "bg-red-500" : "bg-zinc-400";
  const details = s
    ? [
        `RAM ${formatBytes(s.ram.free)} free of ${formatBytes(s.ram.total)}`,
        s.vram ? `VRAM ${formatBytes(s.vram.used)} used of ${formatBytes(s.vram.total)}` : null,
        s.loadedModels.length
          ? `Loaded: ${s.loadedModels.map((m) => m.name).join(", ")}`
          : "No model loaded yet",
        `Atelier ${s.version}`,
      ]
        .filter(Boolean)
        .join("\n")
    : undefined;

  return (
    <div
      data-testid="backend-status"
      title={details}
      role="status"
      className="flex items-center gap-2 rounded-lg px-2 py-1.5 text-xs text-zinc-600 dark:text-zinc-400"
    >
      <span aria-hidden="true" className={`size-2 shrink-0 rounded-full ${dot}`} />
      <span className="truncate font-medium text-zinc-700 dark:text-zinc-300">{label}</span>
      {s && s.loadedModels.length > 0 && (
        <span className="ml-auto shrink-0 rounded-full bg-zinc-200/70 px-1.5 py-0.5 text-[10px] tabular-nums dark:bg-zinc-800">
          {s.loadedModels.length} loaded
        </span>
      )}
    </div>
  );
}
