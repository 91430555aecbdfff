/**
 * The bar of every progress display (downloads, indexing, training runs): an accessible
 * progressbar whose fill is `percent`, or an indeterminate pulse when `percent` is null.
 */
export function ProgressTrack({
  percent,
  label,
  valueText,
  fillClass = "bg-accent-600",
}: {
  percent: number | null;
  label: string;
  valueText?: string;
  fillClass?: string;
}) {
  const pct = percent === null ? null : Math.max(0, Math.min(100, percent));
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct === null ? undefined : Math.floor(pct)}
      aria-valuetext={valueText}
      className="h-1.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
    >
      <div
        className={`h-full rounded-full transition-[width] duration-300 ${fillClass} ${pct === null ? "w-1/3 animate-pulse" : ""}`}
        style={pct === null ? undefined : { width: `${pct}%` }}
      />
    </div>
  );
}
