CREATE TABLE `experiment_arms` (
	`id` text PRIMARY KEY NOT NULL,
	`experiment_id` text NOT NULL,
	`label` text NOT NULL,
	`model_id` text NOT NULL,
	`weight` integer NOT NULL,
	`stopped_at` integer,
	`stopped_reason` text,
	FOREIGN KEY (`experiment_id`) REFERENCES `experiments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `experiment_arms_experiment_idx` ON `experiment_arms` (`experiment_id`);--> statement-breakpoint
CREATE TABLE `experiments` (
	`id` text PRIMARY KEY NOT NULL,
	`assistant_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text DEFAULT 'running' NOT NULL,
	`error_threshold` real DEFAULT 0.2 NOT NULL,
	`min_answers` integer DEFAULT 10 NOT NULL,
	`baseline_model_id` text,
	`winner_arm_id` text,
	`ended_reason` text,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`ended_at` integer,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `experiments_assistant_idx` ON `experiments` (`assistant_id`,`status`);