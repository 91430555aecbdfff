CREATE TABLE `knowledge_chunks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`document_id` text NOT NULL,
	`collection_id` text NOT NULL,
	`ordinal` integer NOT NULL,
	`text` text NOT NULL,
	`token_estimate` integer NOT NULL,
	`start_offset` integer NOT NULL,
	`end_offset` integer NOT NULL,
	`heading` text,
	FOREIGN KEY (`document_id`) REFERENCES `knowledge_documents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `knowledge_chunks_document_idx` ON `knowledge_chunks` (`document_id`,`ordinal`);--> statement-breakpoint
CREATE TABLE `knowledge_collections` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `knowledge_documents` (
	`id` text PRIMARY KEY NOT NULL,
	`collection_id` text NOT NULL,
	`title` text NOT NULL,
	`file_name` text NOT NULL,
	`mime` text NOT NULL,
	`sha256` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`status` text DEFAULT 'indexing' NOT NULL,
	`error` text,
	`chunk_count` integer DEFAULT 0 NOT NULL,
	`content` text DEFAULT '' NOT NULL,
	`outline` text DEFAULT '[]' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`collection_id`) REFERENCES `knowledge_collections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `knowledge_documents_collection_idx` ON `knowledge_documents` (`collection_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `knowledge_documents_sha_idx` ON `knowledge_documents` (`collection_id`,`sha256`);--> statement-breakpoint
CREATE TABLE `knowledge_vector_space` (
	`id` integer PRIMARY KEY NOT NULL,
	`embedder_id` text NOT NULL,
	`dimensions` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
-- Full-text index over chunks (external content: the text lives once, in knowledge_chunks).
CREATE VIRTUAL TABLE `knowledge_chunks_fts` USING fts5(
	`text`,
	`heading`,
	content='knowledge_chunks',
	content_rowid='id',
	tokenize='porter unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `knowledge_chunks_fts_ai` AFTER INSERT ON `knowledge_chunks` BEGIN
	INSERT INTO `knowledge_chunks_fts`(rowid, `text`, `heading`) VALUES (new.`id`, new.`text`, new.`heading`);
END;
--> statement-breakpoint
CREATE TRIGGER `knowledge_chunks_fts_ad` AFTER DELETE ON `knowledge_chunks` BEGIN
	INSERT INTO `knowledge_chunks_fts`(`knowledge_chunks_fts`, rowid, `text`, `heading`) VALUES ('delete', old.`id`, old.`text`, old.`heading`);
END;
--> statement-breakpoint
CREATE TRIGGER `knowledge_chunks_fts_au` AFTER UPDATE OF `text`, `heading` ON `knowledge_chunks` BEGIN
	INSERT INTO `knowledge_chunks_fts`(`knowledge_chunks_fts`, rowid, `text`, `heading`) VALUES ('delete', old.`id`, old.`text`, old.`heading`);
	INSERT INTO `knowledge_chunks_fts`(rowid, `text`, `heading`) VALUES (new.`id`, new.`text`, new.`heading`);
END;
