CREATE TABLE `file_hashes` (
	`path` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`mtime_ms` integer NOT NULL,
	`sha256` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `inference_nodes` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`kind` text NOT NULL,
	`api_key` text,
	`enabled` integer DEFAULT true NOT NULL,
	`health` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `model_serving` (
	`model_id` text PRIMARY KEY NOT NULL,
	`local` integer DEFAULT true NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `node_models` (
	`node_id` text NOT NULL,
	`model_id` text NOT NULL,
	`remote_name` text NOT NULL,
	`state` text DEFAULT 'ready' NOT NULL,
	`detail` text,
	`extra` text,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`node_id`, `model_id`),
	FOREIGN KEY (`node_id`) REFERENCES `inference_nodes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `node_models_model_idx` ON `node_models` (`model_id`);--> statement-breakpoint
CREATE TABLE `studio_remote_runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`worker_name` text,
	`lease_hash` text,
	`lease_expires_at` integer,
	`artifacts` text,
	`config` text,
	`checkpoint_step` integer,
	`checkpoint_files` text,
	FOREIGN KEY (`run_id`) REFERENCES `studio_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
