import { formatBytes, formatPercent } from "@/app/_lib/format";

export function ProgressBar({ done, total, label }: { done: number; total: number | null; label: string }) {
  const pct = total && total > 0 ? Math.min(100, (done / total) * 100) : null;
  return (
    <div className="mt-3" data-testid="download-progress">
      <div className="mb-1 flex justify-between text-xs tabular-nums text-zinc-500">
        <span>{formatBytes(done)}{total ? ` of ${formatBytes(total)}` : ""}</span>
        <span>{formatPercent(done, total)}</span>
      </div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct === null ? undefined : Math.floor(pct)}
        aria-valuetext={pct === null ? `${formatBytes(done)} downloaded` : undefined}
        className="h-1.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
      >
        <div
          className={`h-full rounded-full bg-accent-600 transition-[width] duration-300 ${pct === null ? "w-1/3 animate-pulse" : ""}`}
          style={pct === null ? undefined : { width: `${pct}%` }}
        />
      </div>
    </div>
  );
}
