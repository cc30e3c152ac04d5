CREATE TABLE `heads_events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`count` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `heads_events_event_id_unique` ON `heads_events` (`event_id`);--> statement-breakpoint
ALTER TABLE `published_heads` ADD `length` integer;--> statement-breakpoint
ALTER TABLE `published_heads` ADD `announced_length` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `published_heads_unannounced_idx` ON `published_heads` (`task_id`) WHERE "length" IS NULL OR "length" <> "announced_length";