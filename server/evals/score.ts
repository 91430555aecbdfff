import "server-only";
import type { AtelierDb } from "../db/client";
import { getCollection, getDocument } from "../knowledge";
import { citationHit, citedMarkers, factsHitRate, refusalCorrect, rougeL, sourceRetrieved, tokenF1 } from "./metrics";
import type { EvalRunRowRow, StoredCitation } from "./schema";

/** Every deterministic metric of one answer (null where the row gives nothing to measure against). */
export type AnswerScores = {
  cited: number[];
  factsHit: number | null;
  tokenF1: number | null;
  rougeL: number | null;
  citationHit: number | null;
  sourceRetrieved: number | null;
  refusalCorrect: number;
};

/** documentId → its collection, cached for one run. */
export function collectionLookup(db: AtelierDb): (documentId: string) => { id: string; name: string } | null {
  const cache = new Map<string, { id: string; name: string } | null>();
  return (documentId) => {
    if (!cache.has(documentId)) {
      try {
        const col = getCollection(db, getDocument(db, documentId).collectionId);
        cache.set(documentId, { id: col.id, name: col.name });
      } catch {
        cache.set(documentId, null); // removed since: it cannot be the expected collection
      }
    }
    return cache.get(documentId)!;
  };
}

export function scoreAnswer(
  row: Pick<EvalRunRowRow, "reference" | "facts" | "expectedSource" | "shouldRefuse">,
  answer: { text: string; citations: StoredCitation[]; knowledge: boolean },
  outOfScopeReply: string | null,
  collectionOf: (documentId: string) => { id: string; name: string } | null,
): AnswerScores {
  const expected = row.expectedSource ?? null;
  return {
    cited: citedMarkers(answer.text),
    factsHit: factsHitRate(answer.text, row.facts),
    tokenF1: row.reference ? tokenF1(answer.text, row.reference) : null,
    rougeL: row.reference ? rougeL(answer.text, row.reference) : null,
    // without the knowledge base there is nothing to cite: n/a rather than a miss
    citationHit: answer.knowledge ? citationHit(answer.text, answer.citations, expected, collectionOf) : null,
    sourceRetrieved: answer.knowledge ? sourceRetrieved(answer.citations, expected, collectionOf) : null,
    refusalCorrect: refusalCorrect(answer.text, row.shouldRefuse, outOfScopeReply),
  };
}

/** A failure in the drill-down: an error, a missed required fact, a wrong refusal, an uncited expected source, or a low token-F1 where the row has only a reference. */
export function isFailure(r: { error: string | null; factsHit: number | null; refusalCorrect: number | null; citationHit: number | null; tokenF1: number | null }): boolean {
  if (r.error) return true;
  if (r.factsHit !== null && r.factsHit < 1) return true;
  if (r.refusalCorrect === 0) return true;
  if (r.citationHit === 0) return true;
  if (r.factsHit === null && r.tokenF1 !== null && r.tokenF1 < 0.5) return true;
  return false;
}
