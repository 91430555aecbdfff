ALTER TABLE `messages` ADD `feedback_comment` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `feedback_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `persona_revision` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `knowledge_revision` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `regenerated` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `experiment_arm_id` text;