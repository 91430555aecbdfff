CREATE TABLE `eval_activation_checks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`assistant_id` text NOT NULL,
	`model_id` text NOT NULL,
	`previous_model_id` text,
	`eval_run_id` text,
	`verdict` text NOT NULL,
	`metric` text,
	`difference` real,
	`ci_low` real,
	`ci_high` real,
	`overridden` integer DEFAULT false NOT NULL,
	`message` text NOT NULL,
	`user_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `eval_activation_checks_idx` ON `eval_activation_checks` (`assistant_id`,`model_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `eval_fingerprints` (
	`hash` text NOT NULL,
	`row_id` text NOT NULL,
	`kind` text NOT NULL,
	FOREIGN KEY (`row_id`) REFERENCES `eval_rows`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `eval_fingerprints_hash_idx` ON `eval_fingerprints` (`hash`);--> statement-breakpoint
CREATE INDEX `eval_fingerprints_row_idx` ON `eval_fingerprints` (`row_id`);--> statement-breakpoint
CREATE TABLE `eval_results` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` text NOT NULL,
	`row_idx` integer NOT NULL,
	`config_idx` integer NOT NULL,
	`answer` text NOT NULL,
	`citations` text DEFAULT '[]' NOT NULL,
	`cited` text DEFAULT '[]' NOT NULL,
	`facts_hit` real,
	`token_f1` real,
	`rouge_l` real,
	`citation_hit` real,
	`source_retrieved` real,
	`refusal_correct` real,
	`answer_tokens` integer,
	`ttft_ms` real,
	`tokens_per_second` real,
	`judge_score` integer,
	`judge_reason` text,
	`judge_status` text,
	`error` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `eval_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `eval_results_cell_idx` ON `eval_results` (`run_id`,`row_idx`,`config_idx`);--> statement-breakpoint
CREATE TABLE `eval_rows` (
	`id` text PRIMARY KEY NOT NULL,
	`set_id` text NOT NULL,
	`position` integer NOT NULL,
	`question` text NOT NULL,
	`reference` text,
	`facts` text DEFAULT '[]' NOT NULL,
	`expected_source` text,
	`should_refuse` integer DEFAULT false NOT NULL,
	`status` text DEFAULT 'accepted' NOT NULL,
	`origin` text DEFAULT 'manual' NOT NULL,
	`provenance` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`set_id`) REFERENCES `eval_sets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `eval_rows_set_idx` ON `eval_rows` (`set_id`,`status`,`position`);--> statement-breakpoint
CREATE TABLE `eval_run_rows` (
	`run_id` text NOT NULL,
	`idx` integer NOT NULL,
	`row_id` text NOT NULL,
	`question` text NOT NULL,
	`reference` text,
	`facts` text NOT NULL,
	`expected_source` text,
	`should_refuse` integer NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `eval_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `eval_run_rows_idx` ON `eval_run_rows` (`run_id`,`idx`);--> statement-breakpoint
CREATE TABLE `eval_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`assistant_id` text NOT NULL,
	`set_id` text NOT NULL,
	`set_name` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`configs` text NOT NULL,
	`options` text NOT NULL,
	`total_items` integer DEFAULT 0 NOT NULL,
	`done_items` integer DEFAULT 0 NOT NULL,
	`error` text,
	`pid` integer,
	`log` text DEFAULT '[]' NOT NULL,
	`summary` text,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`queued_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `eval_runs_status_idx` ON `eval_runs` (`status`,`queued_at`);--> statement-breakpoint
CREATE INDEX `eval_runs_assistant_idx` ON `eval_runs` (`assistant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `eval_sets` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`assistant_id` text,
	`is_default` integer DEFAULT false NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `eval_sets_assistant_idx` ON `eval_sets` (`assistant_id`);