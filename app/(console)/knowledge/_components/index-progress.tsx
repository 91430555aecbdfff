import { ProgressTrack } from "@/app/_components/progress-track";

export type IndexPhase = "parsing" | "chunking" | "embedding" | "storing" | "done";
export type IndexProgressView = { phase: IndexPhase; done: number; total: number; fileName: string; step: number; steps: number };

const LABEL: Record<IndexPhase, string> = {
  parsing: "Reading",
  chunking: "Splitting into chunks",
  embedding: "Embedding",
  storing: "Storing",
  done: "Done",
};

/** Overall share of one document's indexing, from its phase (embedding dominates when there is a model). */
export function progressShare(p: Pick<IndexProgressView, "phase" | "done" | "total">): number {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  switch (p.phase) {
    case "parsing":
      return 0.05;
    case "chunking":
      return 0.15;
    case "embedding":
      return 0.2 + 0.7 * frac;
    case "storing":
      return 0.9 + 0.1 * frac;
    case "done":
      return 1;
  }
}

export function IndexProgressBar({ progress }: { progress: IndexProgressView }) {
  const docShare = progressShare(progress);
  const pct = Math.round((((progress.step - 1) + docShare) / Math.max(1, progress.steps)) * 100);
  const counter = progress.phase === "embedding" || progress.phase === "storing" ? ` ${progress.done}/${progress.total} chunks` : "";
  return (
    <div className="mt-3" data-testid="index-progress">
      <div className="mb-1 flex justify-between gap-2 text-xs tabular-nums text-zinc-500">
        <span className="truncate">
          {progress.steps > 1 ? `${progress.step}/${progress.steps} · ` : ""}
          {progress.fileName}: {LABEL[progress.phase]}
          {counter}
        </span>
        <span>{pct}%</span>
      </div>
      <ProgressTrack percent={pct} label="Indexing" />
    </div>
  );
}
