CREATE TABLE `improvement_datasets` (
	`id` text PRIMARY KEY NOT NULL,
	`assistant_id` text NOT NULL,
	`version` integer NOT NULL,
	`record_count` integer NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `improvement_datasets_version_idx` ON `improvement_datasets` (`assistant_id`,`version`);--> statement-breakpoint
CREATE TABLE `improvement_items` (
	`id` text PRIMARY KEY NOT NULL,
	`dataset_id` text NOT NULL,
	`review_item_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`message_id` text NOT NULL,
	`action` text NOT NULL,
	`system` text,
	`turns` text NOT NULL,
	`reviewer_id` text,
	`reviewed_at` integer NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `improvement_datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `improvement_items_dataset_idx` ON `improvement_items` (`dataset_id`);--> statement-breakpoint
CREATE INDEX `improvement_items_conversation_idx` ON `improvement_items` (`conversation_id`);--> statement-breakpoint
CREATE TABLE `improvement_trainings` (
	`id` text PRIMARY KEY NOT NULL,
	`dataset_id` text NOT NULL,
	`studio_dataset_id` text NOT NULL,
	`from_model_id` text,
	`replay_share_pct` integer NOT NULL,
	`replay_records` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `improvement_datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `improvement_trainings_dataset_idx` ON `improvement_trainings` (`dataset_id`);--> statement-breakpoint
CREATE INDEX `improvement_trainings_studio_idx` ON `improvement_trainings` (`studio_dataset_id`);--> statement-breakpoint
CREATE TABLE `review_items` (
	`id` text PRIMARY KEY NOT NULL,
	`assistant_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`message_id` text NOT NULL,
	`channel` text NOT NULL,
	`action` text NOT NULL,
	`model_id` text,
	`turns` text NOT NULL,
	`answer` text NOT NULL,
	`correction` text,
	`system` text,
	`scrubbed` integer DEFAULT true NOT NULL,
	`pii_counts` text,
	`rating` integer,
	`eval_set_id` text,
	`eval_row_id` text,
	`reviewer_id` text,
	`reviewed_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `review_items_message_idx` ON `review_items` (`message_id`);--> statement-breakpoint
CREATE INDEX `review_items_assistant_idx` ON `review_items` (`assistant_id`,`action`,`reviewed_at`);--> statement-breakpoint
CREATE INDEX `review_items_conversation_idx` ON `review_items` (`conversation_id`);