// The knowledge capability: collections of documents, parsed and chunked, searched by BM25
// (FTS5) and optionally vectors (sqlite-vec) fused by reciprocal rank, and packed into cited
// prompt blocks for a chat turn. This file is its only entry; the files behind it have one job each:
//   collections.ts, documents.ts   stored collections, documents and chunks (CRUD)
//   indexing.ts                    parse → chunk → embed → store, in one transaction per document
//   vector-sync.ts, vectors.ts     the sqlite-vec index and bringing it up to date
//   fts.ts                         FTS5 maintenance
//   search/                        query terms, BM25 planning, vectors, fusion, prompt packing
//   retrieve.ts                    retrieval for a chat turn (never throws)
//   parse/, chunk.ts               file formats and chunking
export { createCollection, deleteCollection, getCollection, listCollections, updateCollection, type KnowledgeCollection } from "./collections";
export { deleteDocument, getDocument, getDocumentText, listChunks, listDocuments, type KnowledgeDocument } from "./documents";
export {
  addDocument,
  embeddingInput,
  recoverInterruptedIndexing,
  reindexDocument,
  type AddDocumentInput,
  type IndexOptions,
  type IndexPhase,
  type IndexProgress,
  type IndexResult,
} from "./indexing";
export { syncVectors } from "./vector-sync";
export { optimizeKnowledgeIndex } from "./fts";
export { configuredEmbedder, embedderOrWarning } from "./embedding-model";
export { decodeUpload, maxUploadBytes, streamIndexing, type IndexEvent } from "./uploads";
export { documentView, removeCollection } from "./views";
export {
  CITE_INSTRUCTION,
  findSources,
  knowledgeBudget,
  packSources,
  retrieveForAssistant,
  retrieveFromCollections,
  withKnowledge,
  type Retrieval,
  type SourceCandidates,
} from "./retrieve";

export { previewChunks, chunkText, estimateTokens } from "./chunk";
export type { Chunk, ChunkOptions, ChunkPreview } from "./chunk";
export { createHashingEmbedder, createLlamaEmbedder } from "./embedder";
export type { Embedder } from "./embedder";
export { decodeText, detectFormat, DocumentParseError, parseCsvRows, parseDocument, SUPPORTED_EXTENSIONS } from "../documents";
export type { OutlineEntry, ParsedDocument } from "../documents";
export { buildFtsQuery, queryTerms } from "./search/terms";
export { DF_BUDGET, planBm25Query, searchBm25, type Bm25Plan, type RankedChunk } from "./search/bm25";
export { searchVector, type VectorStatus } from "./search/vector";
export { reciprocalRankFusion, RRF_K } from "./search/fusion";
export { search, type SearchHit, type SearchMode, type SearchOptions, type SearchResponse } from "./search/search";
export { buildContext, trimToTokens, type BuiltContext, type Citation, type TokenCounter } from "./search/context";
