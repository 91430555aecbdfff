import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "@/server/db/client";
import { assistantCollections } from "@/server/db/schema";
import { deleteCollection } from "./collections";
import { getDocument, getDocumentText, listChunks } from "./documents";

/** A document as the console's reader shows it: its text, and where each chunk starts and ends. */
export function documentView(db: AtelierDb, id: string) {
  const document = getDocument(db, id);
  const { text, outline } = getDocumentText(db, id);
  const chunks = listChunks(db, id).map((c) => ({
    id: c.id,
    ordinal: c.ordinal,
    heading: c.heading,
    startOffset: c.startOffset,
    endOffset: c.endOffset,
    tokenEstimate: c.tokenEstimate,
  }));
  return { document, text, outline, chunks };
}

/** Deletes a collection (documents, chunks, vectors) and unlinks it from every assistant. */
export async function removeCollection(db: AtelierDb, id: string): Promise<void> {
  await deleteCollection(db, id);
  db.delete(assistantCollections).where(eq(assistantCollections.collectionId, id)).run();
}
