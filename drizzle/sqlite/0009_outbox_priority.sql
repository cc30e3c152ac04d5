DROP INDEX `outbox_relays_due_idx`;--> statement-breakpoint
ALTER TABLE `outbox_relays` ADD `priority` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX `outbox_relays_due_idx` ON `outbox_relays` (`status`,`priority`,`next_attempt_at`);