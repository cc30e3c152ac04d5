CREATE TABLE `published_heads` (
	`task_id` text PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action
);
