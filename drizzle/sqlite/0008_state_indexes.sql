DROP INDEX `fundings_state_idx`;--> statement-breakpoint
CREATE INDEX `fundings_state_deadline_idx` ON `fundings` (`state`,`claim_deadline_height`);--> statement-breakpoint
DROP INDEX `tasks_state_idx`;--> statement-breakpoint
CREATE INDEX `tasks_state_created_idx` ON `tasks` (`state`,`created_at`);