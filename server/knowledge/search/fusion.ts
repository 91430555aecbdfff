import "server-only";

/** k of reciprocal-rank fusion: the usual 60 (Cormack et al. 2009); large k flattens the head of each list. */
export const RRF_K = 60;

export type FusedChunk = { chunkId: number; score: number; ranks: Array<number | null> };

/** Reciprocal-rank fusion: score = Σ 1/(k + rank), rank 1-based, over the lists a chunk is in. */
export function reciprocalRankFusion(lists: ReadonlyArray<ReadonlyArray<{ chunkId: number }>>, k: number = RRF_K): FusedChunk[] {
  const fused = new Map<number, FusedChunk>();
  lists.forEach((list, li) => {
    list.forEach((item, idx) => {
      let f = fused.get(item.chunkId);
      if (!f) fused.set(item.chunkId, (f = { chunkId: item.chunkId, score: 0, ranks: lists.map(() => null) }));
      if (f.ranks[li] !== null) return; // duplicates within a list count once
      f.ranks[li] = idx + 1;
      f.score += 1 / (k + idx + 1);
    });
  });
  // Ties: the better best rank first, then the lower chunk id (stable output).
  const best = (f: FusedChunk) => Math.min(...f.ranks.map((r) => r ?? Infinity));
  return [...fused.values()].sort((a, b) => b.score - a.score || best(a) - best(b) || a.chunkId - b.chunkId);
}

