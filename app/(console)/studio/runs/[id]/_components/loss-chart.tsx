import { lossChart } from "@/app/_lib/studio-chart";
import type { LossPoint } from "@/app/_lib/studio-types";

const BOX = { width: 640, height: 240, pad: { l: 44, r: 12, t: 12, b: 28 } };

/** Train loss (line) and eval loss (dashed line with dots) over steps, as inline SVG. */
export function LossChart({ points, totalSteps }: { points: LossPoint[]; totalSteps: number }) {
  const g = lossChart(points, totalSteps, BOX);
  const latest = g.lastTrain ? g.lastTrain.value.toFixed(3) : null;
  const latestEval = g.evalDots.at(-1)?.value.toFixed(3) ?? null;
  const summary =
    g.trainCount === 0
      ? "Loss chart: no measurements yet."
      : `Loss chart: ${g.trainCount} training measurements, latest loss ${latest}${latestEval ? `; ${g.evalCount} evaluation measurements, latest ${latestEval}` : ""}.`;
  return (
    <figure data-testid="loss-chart" data-train-points={g.trainCount} data-eval-points={g.evalCount}>
      <div className="flex flex-wrap items-center gap-4 text-xs text-zinc-500">
        <span className="flex items-center gap-1.5">
          <span className="inline-block h-0.5 w-4 rounded bg-accent-600" aria-hidden="true" /> Training loss{latest && <span className="tabular-nums text-zinc-700 dark:text-zinc-300"> {latest}</span>}
        </span>
        <span className="flex items-center gap-1.5">
          <span className="inline-block w-4 border-t-2 border-dashed border-amber-500" aria-hidden="true" /> Held-out loss
          {latestEval && <span className="tabular-nums text-zinc-700 dark:text-zinc-300"> {latestEval}</span>}
        </span>
        <span className="ml-auto">by training step · lower is better</span>
      </div>
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-label={summary} className="mt-2 h-auto w-full overflow-visible text-zinc-400">
        {g.yTicks.map((t) => (
          <g key={`y${t.label}`}>
            <line x1={BOX.pad.l} x2={BOX.width - BOX.pad.r} y1={t.y} y2={t.y} className="stroke-zinc-200 dark:stroke-zinc-800" strokeWidth={1} />
            <text x={BOX.pad.l - 6} y={t.y} textAnchor="end" dominantBaseline="middle" className="fill-current text-[10px] tabular-nums">
              {t.label}
            </text>
          </g>
        ))}
        {g.xTicks.map((t) => (
          <text key={`x${t.label}`} x={t.x} y={BOX.height - 8} textAnchor="middle" className="fill-current text-[10px] tabular-nums">
            {t.label}
          </text>
        ))}
        {g.trainPath && <path d={g.trainPath} fill="none" className="stroke-accent-600" strokeWidth={2} strokeLinejoin="round" strokeLinecap="round" data-testid="train-line" />}
        {g.evalPath && <path d={g.evalPath} fill="none" className="stroke-amber-500" strokeWidth={1.5} strokeDasharray="5 4" />}
        {g.evalDots.map((d) => (
          <circle key={d.step} cx={d.x} cy={d.y} r={3} className="fill-amber-500">
            <title>{`Step ${d.step}: held-out loss ${d.value.toFixed(3)}`}</title>
          </circle>
        ))}
        {g.lastTrain && <circle cx={g.lastTrain.x} cy={g.lastTrain.y} r={3.5} className="fill-accent-600" />}
        {g.trainCount === 0 && (
          <text x={BOX.width / 2} y={BOX.height / 2} textAnchor="middle" className="fill-current text-xs">
            The curve appears with the first training steps.
          </text>
        )}
      </svg>
      <figcaption className="sr-only">{summary}</figcaption>
    </figure>
  );
}
