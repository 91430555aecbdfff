ALTER TABLE `assistants` ADD `retrieval` text;--> statement-breakpoint
ALTER TABLE `studio_runs` ADD `bpb_before` real;--> statement-breakpoint
ALTER TABLE `studio_runs` ADD `bpb_after` real;