import { perplexityVerdict } from "@/app/_lib/studio-format";

const TONE = {
  better: "text-emerald-700 dark:text-emerald-400",
  worse: "text-red-700 dark:text-red-400",
  same: "text-zinc-600 dark:text-zinc-400",
} as const;

/** "31.20 → 24.05 (−23%)", with the plain-words sentence when `explain` is set. Honest about a rise. */
export function Perplexity({ before, after, explain = false }: { before: number | null | undefined; after: number | null | undefined; explain?: boolean }) {
  const v = perplexityVerdict(before, after);
  if (!v) return <span className="text-zinc-400">not measured</span>;
  return (
    <span data-testid="perplexity" data-direction={v.direction}>
      <span className="tabular-nums">
        {v.before} → {v.after} <span className={`font-medium ${TONE[v.direction]}`}>({v.change})</span>
      </span>
      {explain && <span className="mt-1 block text-xs text-zinc-500">{v.sentence}</span>}
    </span>
  );
}
