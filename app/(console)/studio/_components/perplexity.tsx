import { bitsPerByteChange, perplexityVerdict } from "@/app/_lib/studio-format";

const TONE = {
  better: "text-emerald-700 dark:text-emerald-400",
  worse: "text-red-700 dark:text-red-400",
  same: "text-zinc-600 dark:text-zinc-400",
} as const;

/**
 * "31.20 → 24.05 (−23%)", with the plain-words sentence when `explain` is set. Honest about a rise,
 * about an untrained "before" (a scratch model's starting point is a uniform guess, not a model),
 * and about what perplexity can be compared with: bits per byte go beside it for that.
 */
export function Perplexity({
  before,
  after,
  explain = false,
  beforeUntrained = false,
  bpbBefore,
  bpbAfter,
}: {
  before: number | null | undefined;
  after: number | null | undefined;
  explain?: boolean;
  beforeUntrained?: boolean;
  bpbBefore?: number | null;
  bpbAfter?: number | null;
}) {
  const v = perplexityVerdict(before, after);
  const bpb = bitsPerByteChange(beforeUntrained ? null : bpbBefore, bpbAfter);
  if (!v) return <span className="text-zinc-400">not measured</span>;
  return (
    <span data-testid="perplexity" data-direction={v.direction} data-untrained={beforeUntrained || undefined}>
      <span className="tabular-nums">
        {beforeUntrained && <span className="text-zinc-500">untrained </span>}
        {v.before} → {v.after} {!beforeUntrained && <span className={`font-medium ${TONE[v.direction]}`}>({v.change})</span>}
      </span>
      {bpb && (
        <span className="ml-2 text-xs text-zinc-500 tabular-nums" data-testid="bits-per-byte">
          · {bpb}
        </span>
      )}
      {explain && (
        <span className="mt-1 block text-xs text-zinc-500">
          {beforeUntrained
            ? `A new model starts from a uniform guess over its ${v.before} tokens, so “before” is no measurement; after training it scores ${v.after}. Lower is better.`
            : v.sentence}{" "}
          Perplexity is per token: compare it only between models that share a tokenizer. Bits per byte compare across tokenizers.
        </span>
      )}
    </span>
  );
}
