CREATE TABLE `assistant_collections` (
	`assistant_id` text NOT NULL,
	`collection_id` text NOT NULL,
	PRIMARY KEY(`assistant_id`, `collection_id`),
	FOREIGN KEY (`assistant_id`) REFERENCES `assistants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` text,
	`action` text NOT NULL,
	`entity_type` text NOT NULL,
	`entity_id` text,
	`detail` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `audit_entity_idx` ON `audit_log` (`entity_type`,`entity_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`csrf_token` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`disabled_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
ALTER TABLE `assistants` ADD `avatar` text;--> statement-breakpoint
ALTER TABLE `assistants` ADD `out_of_scope_reply` text;--> statement-breakpoint
ALTER TABLE `assistants` ADD `history_window` integer DEFAULT 20 NOT NULL;--> statement-breakpoint
ALTER TABLE `assistants` ADD `archived_at` integer;--> statement-breakpoint
ALTER TABLE `conversations` ADD `channel` text DEFAULT 'console' NOT NULL;--> statement-breakpoint
ALTER TABLE `conversations` ADD `user_id` text REFERENCES users(id) ON DELETE set null;--> statement-breakpoint
ALTER TABLE `conversations` ADD `visitor_id` text;--> statement-breakpoint
ALTER TABLE `conversations` ADD `visitor_verified` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `conversations` ADD `origin` text;--> statement-breakpoint
CREATE INDEX `conversations_channel_idx` ON `conversations` (`channel`,`assistant_id`,`updated_at`);--> statement-breakpoint
ALTER TABLE `messages` ADD `citations` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `feedback` integer;