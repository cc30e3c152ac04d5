ALTER TABLE `payouts` ADD `next_attempt_at` integer;--> statement-breakpoint
ALTER TABLE `payouts` ADD `last_error` text;