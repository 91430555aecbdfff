import { ProgressTrack } from "@/app/_components/progress-track";
import { formatBytes, formatPercent } from "@/app/_lib/format";

export function ProgressBar({ done, total, label }: { done: number; total: number | null; label: string }) {
  const pct = total && total > 0 ? Math.min(100, (done / total) * 100) : null;
  return (
    <div className="mt-3" data-testid="download-progress">
      <div className="mb-1 flex justify-between text-xs tabular-nums text-zinc-500">
        <span>{formatBytes(done)}{total ? ` of ${formatBytes(total)}` : ""}</span>
        <span>{formatPercent(done, total)}</span>
      </div>
      <ProgressTrack percent={pct} label={label} valueText={pct === null ? `${formatBytes(done)} downloaded` : undefined} />
    </div>
  );
}
