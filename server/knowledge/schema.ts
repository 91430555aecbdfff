import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// No "server-only" here: drizzle-kit loads this file outside Next to generate migrations
// (server/db/schema.ts does the same). It only declares tables.

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const DOCUMENT_STATUSES = ["indexing", "ready", "error"] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

/** A named set of documents an assistant can draw on. */
export const knowledgeCollections = sqliteTable("knowledge_collections", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  createdAt: integer("created_at").notNull().default(now),
});
export type KnowledgeCollectionRow = typeof knowledgeCollections.$inferSelect;
export type NewKnowledgeCollectionRow = typeof knowledgeCollections.$inferInsert;

/** One imported file. Its extracted text is kept so it can be re-chunked and re-embedded. */
export const knowledgeDocuments = sqliteTable(
  "knowledge_documents",
  {
    id: text("id").primaryKey(),
    collectionId: text("collection_id")
      .notNull()
      .references(() => knowledgeCollections.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    fileName: text("file_name").notNull(),
    mime: text("mime").notNull(),
    sha256: text("sha256").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    status: text("status", { enum: DOCUMENT_STATUSES }).notNull().default("indexing"),
    error: text("error"),
    chunkCount: integer("chunk_count").notNull().default(0),
    /** Extracted plain text (chunk offsets point into it). */
    content: text("content").notNull().default(""),
    /** Headings found by the parser: offsets into `content`. */
    outline: text("outline", { mode: "json" })
      .$type<Array<{ offset: number; level: number; text: string }>>()
      .notNull()
      .default(sql`'[]'`),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    index("knowledge_documents_collection_idx").on(t.collectionId, t.createdAt),
    index("knowledge_documents_sha_idx").on(t.collectionId, t.sha256),
  ],
);
export type KnowledgeDocumentRow = typeof knowledgeDocuments.$inferSelect;
export type NewKnowledgeDocumentRow = typeof knowledgeDocuments.$inferInsert;

/**
 * A passage of a document. The integer id is the rowid shared with the FTS5 index
 * (knowledge_chunks_fts) and the sqlite-vec table (knowledge_vec); AUTOINCREMENT so an id
 * is never reused and a stale vector can never alias a newer chunk.
 */
export const knowledgeChunks = sqliteTable(
  "knowledge_chunks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    documentId: text("document_id")
      .notNull()
      .references(() => knowledgeDocuments.id, { onDelete: "cascade" }),
    /** The document's collection, copied here so a collection-scoped search filters each FTS match with one rowid lookup. */
    collectionId: text("collection_id").notNull(),
    ordinal: integer("ordinal").notNull(),
    text: text("text").notNull(),
    tokenEstimate: integer("token_estimate").notNull(),
    startOffset: integer("start_offset").notNull(),
    endOffset: integer("end_offset").notNull(),
    /** Heading path in effect at the chunk ("Install > Linux"), null before any heading. */
    heading: text("heading"),
  },
  (t) => [uniqueIndex("knowledge_chunks_document_idx").on(t.documentId, t.ordinal)],
);
export type KnowledgeChunkRow = typeof knowledgeChunks.$inferSelect;
export type NewKnowledgeChunkRow = typeof knowledgeChunks.$inferInsert;

/**
 * Which embedding model filled knowledge_vec (a vec0 table created at runtime, because its
 * dimension depends on the model). At most one row; a different embedder rebuilds the table.
 */
export const knowledgeVectorSpace = sqliteTable("knowledge_vector_space", {
  id: integer("id").primaryKey(),
  embedderId: text("embedder_id").notNull(),
  dimensions: integer("dimensions").notNull(),
  createdAt: integer("created_at").notNull().default(now),
});
export type KnowledgeVectorSpaceRow = typeof knowledgeVectorSpace.$inferSelect;
