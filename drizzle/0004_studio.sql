CREATE TABLE `studio_activations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`assistant_id` text NOT NULL,
	`model_id` text NOT NULL,
	`previous_model_id` text,
	`user_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `studio_activations_assistant_idx` ON `studio_activations` (`assistant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `studio_calibrations` (
	`key` text PRIMARY KEY NOT NULL,
	`tokens_per_second` real NOT NULL,
	`mem_estimate_bytes` integer NOT NULL,
	`params` integer NOT NULL,
	`trainable` integer NOT NULL,
	`backend` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `studio_dataset_files` (
	`id` text PRIMARY KEY NOT NULL,
	`dataset_id` text NOT NULL,
	`name` text NOT NULL,
	`sha256` text NOT NULL,
	`bytes` integer NOT NULL,
	`format` text NOT NULL,
	`records` integer NOT NULL,
	`warnings` text DEFAULT '[]' NOT NULL,
	`uploaded_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `studio_datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `studio_dataset_files_dataset_idx` ON `studio_dataset_files` (`dataset_id`);--> statement-breakpoint
CREATE TABLE `studio_datasets` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`record_count` integer NOT NULL,
	`bytes` integer NOT NULL,
	`token_estimate` integer NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `studio_eval_prompts` (
	`assistant_id` text PRIMARY KEY NOT NULL,
	`prompts` text NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `studio_records` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dataset_id` text NOT NULL,
	`file_id` text NOT NULL,
	`position` integer NOT NULL,
	`kind` text NOT NULL,
	`text` text,
	`chat` text,
	FOREIGN KEY (`dataset_id`) REFERENCES `studio_datasets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `studio_records_dataset_idx` ON `studio_records` (`dataset_id`,`position`);--> statement-breakpoint
CREATE TABLE `studio_run_points` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` text NOT NULL,
	`step` integer NOT NULL,
	`loss` real,
	`eval_loss` real,
	`lr` real NOT NULL,
	`tokens_per_second` real NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `studio_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `studio_run_points_run_idx` ON `studio_run_points` (`run_id`,`step`);--> statement-breakpoint
CREATE TABLE `studio_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`goal` text NOT NULL,
	`method` text NOT NULL,
	`dataset_id` text NOT NULL,
	`base_model_id` text,
	`assistant_id` text,
	`settings` text NOT NULL,
	`resume` integer DEFAULT false NOT NULL,
	`device` text DEFAULT 'cpu' NOT NULL,
	`work_dir` text NOT NULL,
	`pid` integer,
	`step` integer DEFAULT 0 NOT NULL,
	`total_steps` integer DEFAULT 0 NOT NULL,
	`eta_seconds` real,
	`error` text,
	`estimate_seconds` real,
	`estimate_peak_bytes` integer,
	`actual_seconds` real,
	`actual_peak_bytes` integer,
	`ppl_before` real,
	`ppl_after` real,
	`model_id` text,
	`log` text DEFAULT '[]' NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`queued_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`started_at` integer,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `studio_runs_status_idx` ON `studio_runs` (`status`,`queued_at`);