import "server-only";
import { z } from "zod";
import { recordAudit } from "../../auth";
import {
  addDocument,
  decodeUpload,
  documentView,
  embedderOrWarning,
  maxUploadBytes,
  removeCollection,
  streamIndexing,
  createCollection,
  deleteDocument,
  getCollection,
  getDocument,
  listCollections,
  listDocuments,
  previewChunks,
  reindexDocument,
  search,
  SUPPORTED_EXTENSIONS,
  updateCollection,
  type IndexOptions,
} from "../../knowledge";
import { env } from "../../env";
import { createTRPCRouter, editorProcedure, mapStreamErrors, viewerProcedure, type Context } from "../trpc";

const id = z.string().min(1).max(100);
const chunking = z
  .object({
    targetTokens: z.number().int().min(20).max(2000).optional(),
    overlap: z.number().min(0).max(0.5).optional(),
  })
  .optional();
const file = {
  fileName: z.string().trim().min(1, "The file needs a name.").max(300),
  mime: z.string().max(200).nullish(),
  /** The file's bytes, base64 (size limit checked before decoding). */
  data: z.string(),
};

/** Index options every console run shares: the configured embedder (BM25 only when it is missing or fails). */
async function indexOptions(extra: IndexOptions): Promise<{ options: IndexOptions; warnings: string[] }> {
  const { embedder, warning } = await embedderOrWarning();
  return { options: { ...extra, embedder, maxBytes: maxUploadBytes() }, warnings: warning ? [warning] : [] };
}

const uploadInput = z.object({ collectionId: id, ...file, chunking, title: z.string().max(300).optional() });
type Chunking = z.infer<typeof chunking>;

// The streaming procedures' bodies: generators, so that errors raised before the first event
// (bad file, unknown collection) reach the client mapped like any other (mapStreamErrors).

async function* uploadEvents(ctx: Context, input: z.infer<typeof uploadInput>) {
  const bytes = decodeUpload(input.fileName, input.data);
  getCollection(ctx.db, input.collectionId);
  const { options, warnings } = await indexOptions({ chunking: input.chunking });
  yield* streamIndexing(async (onProgress) => {
    const result = await addDocument(
      ctx.db,
      { collectionId: input.collectionId, fileName: input.fileName, bytes, mime: input.mime, title: input.title },
      { ...options, onProgress },
    );
    recordAudit(ctx.db, ctx.session, "knowledge.document.create", { type: "document", id: result.document.id }, { fileName: result.document.fileName });
    return { document: result.document, warnings: [...warnings, ...result.warnings] };
  });
}

async function* reindexDocumentEvents(ctx: Context, input: { id: string; chunking?: Chunking }) {
  getDocument(ctx.db, input.id);
  const { options, warnings } = await indexOptions({ chunking: input.chunking });
  yield* streamIndexing(async (onProgress) => {
    const result = await reindexDocument(ctx.db, input.id, { ...options, onProgress });
    return { documents: 1, warnings: [...warnings, ...result.warnings] };
  });
}

async function* reindexCollectionEvents(ctx: Context, input: { collectionId: string; chunking?: Chunking }) {
  const docs = listDocuments(ctx.db, input.collectionId);
  const { options, warnings } = await indexOptions({ chunking: input.chunking });
  yield* streamIndexing(async (onProgress) => {
    const all = [...warnings];
    for (const [i, doc] of docs.entries()) {
      try {
        const r = await reindexDocument(ctx.db, doc.id, { ...options, onProgress: (p) => onProgress(p, i + 1, docs.length) });
        all.push(...r.warnings);
      } catch (err) {
        // One bad document does not stop the others; it keeps its previous chunks.
        all.push(`${doc.fileName}: ${(err as Error).message}`);
      }
    }
    return { documents: docs.length, warnings: all };
  });
}

export const knowledgeRouter = createTRPCRouter({
  status: viewerProcedure.query(() => ({
    embeddingModel: env().ATELIER_EMBEDDING_MODEL ?? null,
    maxFileBytes: maxUploadBytes(),
    extensions: SUPPORTED_EXTENSIONS,
  })),

  collections: viewerProcedure.query(({ ctx }) => listCollections(ctx.db)),
  collection: viewerProcedure.input(z.object({ id })).query(({ ctx, input }) => getCollection(ctx.db, input.id)),
  createCollection: editorProcedure
    .input(z.object({ name: z.string().max(500), description: z.string().max(2000).optional() }))
    .mutation(({ ctx, input }) => {
      const row = createCollection(ctx.db, input);
      recordAudit(ctx.db, ctx.session, "knowledge.collection.create", { type: "collection", id: row.id }, { name: row.name });
      return row;
    }),
  updateCollection: editorProcedure
    .input(z.object({ id, name: z.string().max(500).optional(), description: z.string().max(2000).optional() }))
    .mutation(({ ctx, input }) => {
      const before = getCollection(ctx.db, input.id);
      const row = updateCollection(ctx.db, input.id, input);
      recordAudit(ctx.db, ctx.session, "knowledge.collection.update", { type: "collection", id: row.id }, { name: [before.name, row.name] });
      return row;
    }),
  deleteCollection: editorProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    const before = getCollection(ctx.db, input.id);
    await removeCollection(ctx.db, input.id);
    recordAudit(ctx.db, ctx.session, "knowledge.collection.delete", { type: "collection", id: input.id }, { name: before.name });
    return { id: input.id };
  }),

  documents: viewerProcedure.input(z.object({ collectionId: id })).query(({ ctx, input }) => listDocuments(ctx.db, input.collectionId)),
  document: viewerProcedure.input(z.object({ id })).query(({ ctx, input }) => documentView(ctx.db, input.id)),

  /** Parses and chunks a file without storing it: what the import would produce. */
  preview: editorProcedure.input(z.object({ ...file, chunking, show: z.number().int().min(1).max(50).default(5) })).mutation(async ({ input }) => {
    const bytes = decodeUpload(input.fileName, input.data);
    const p = await previewChunks({ fileName: input.fileName, bytes, mime: input.mime }, { ...input.chunking, maxBytes: maxUploadBytes() });
    return {
      title: p.title,
      format: p.format,
      encoding: p.encoding,
      warnings: p.warnings,
      characters: p.characters,
      tokenEstimate: p.tokenEstimate,
      chunkCount: p.chunks.length,
      chunks: p.chunks.slice(0, input.show),
    };
  }),

  /** Imports a file, streaming IndexProgress; a file that fails to parse is refused before anything is stored. */
  upload: editorProcedure.input(uploadInput).mutation(async function* ({ ctx, input }) {
    yield* mapStreamErrors(uploadEvents(ctx, input));
  }),
  reindexDocument: editorProcedure.input(z.object({ id, chunking })).mutation(async function* ({ ctx, input }) {
    yield* mapStreamErrors(reindexDocumentEvents(ctx, input));
  }),
  reindexCollection: editorProcedure.input(z.object({ collectionId: id, chunking })).mutation(async function* ({ ctx, input }) {
    yield* mapStreamErrors(reindexCollectionEvents(ctx, input));
  }),

  deleteDocument: editorProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    const doc = getDocument(ctx.db, input.id);
    await deleteDocument(ctx.db, input.id);
    recordAudit(ctx.db, ctx.session, "knowledge.document.delete", { type: "document", id: input.id }, { fileName: doc.fileName });
    return { id: input.id, collectionId: doc.collectionId };
  }),

  search: viewerProcedure
    .input(z.object({ query: z.string().max(2000), collectionIds: z.array(id).max(100).optional(), limit: z.number().int().min(1).max(50).default(8) }))
    .query(async ({ ctx, input }) => {
      const { embedder } = await embedderOrWarning();
      return search(ctx.db, input.query, { collectionIds: input.collectionIds, limit: input.limit, embedder });
    }),
});
