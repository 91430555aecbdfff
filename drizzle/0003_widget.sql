CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`assistant_id` text NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`key_hash` text NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_assistant_idx` ON `api_keys` (`assistant_id`);--> statement-breakpoint
CREATE TABLE `deployments` (
	`assistant_id` text PRIMARY KEY NOT NULL,
	`public_id` text NOT NULL,
	`enabled` integer DEFAULT false NOT NULL,
	`allowed_origins` text DEFAULT '[]' NOT NULL,
	`any_origin` integer DEFAULT false NOT NULL,
	`visitor_daily_limit` integer DEFAULT 50 NOT NULL,
	`daily_limit` integer DEFAULT 1000 NOT NULL,
	`ip_per_minute_limit` integer DEFAULT 30 NOT NULL,
	`appearance` text NOT NULL,
	`identity_secret` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deployments_public_id_unique` ON `deployments` (`public_id`);--> statement-breakpoint
CREATE TABLE `usage_counters` (
	`scope` text NOT NULL,
	`subject` text NOT NULL,
	`window` integer NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`scope`, `subject`, `window`)
);
--> statement-breakpoint
CREATE INDEX `usage_counters_window_idx` ON `usage_counters` (`window`);