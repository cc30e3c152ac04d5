CREATE TABLE `audit` (
	`task_id` text NOT NULL,
	`seq` integer NOT NULL,
	`event_type` text NOT NULL,
	`body` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`task_id`, `seq`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `fundings` (
	`payment_hash` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`preimage_enc` text NOT NULL,
	`state` text NOT NULL,
	`amount_msat` integer NOT NULL,
	`received_msat` integer NOT NULL,
	`bolt11` text NOT NULL,
	`htlc_expiry_height` integer,
	`claim_deadline_height` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "fundings_state_check" CHECK("state" IN ('open', 'accepted', 'settled', 'cancelled'))
);
--> statement-breakpoint
CREATE INDEX `fundings_state_idx` ON `fundings` (`state`);--> statement-breakpoint
CREATE INDEX `fundings_task_idx` ON `fundings` (`task_id`);--> statement-breakpoint
CREATE TABLE `inbound_events` (
	`id` text PRIMARY KEY NOT NULL,
	`pubkey` text NOT NULL,
	`kind` integer NOT NULL,
	`created_at` integer NOT NULL,
	`raw` text NOT NULL,
	`received_at` integer NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	CONSTRAINT "inbound_events_status_check" CHECK("status" IN ('handled', 'rejected'))
);
--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`event` text NOT NULL,
	`task_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `outbox_relays` (
	`event_id` text NOT NULL,
	`relay` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`last_error` text,
	`next_attempt_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `relay`),
	FOREIGN KEY (`event_id`) REFERENCES `outbox`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "outbox_relays_status_check" CHECK("status" IN ('pending', 'ok', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `outbox_relays_due_idx` ON `outbox_relays` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `payouts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`task_id` text NOT NULL,
	`recipient` text NOT NULL,
	`bolt11` text NOT NULL,
	`payment_hash` text NOT NULL,
	`amount_msat` integer NOT NULL,
	`state` text NOT NULL,
	`routing_fee_msat` integer NOT NULL,
	`attempt` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "payouts_recipient_check" CHECK("recipient" IN ('worker', 'poster')),
	CONSTRAINT "payouts_state_check" CHECK("state" IN ('in_flight', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payouts_one_live_idx` ON `payouts` (`task_id`,`recipient`) WHERE "state" IN ('in_flight', 'succeeded');--> statement-breakpoint
CREATE UNIQUE INDEX `payouts_attempt_idx` ON `payouts` (`task_id`,`recipient`,`attempt`);--> statement-breakpoint
CREATE INDEX `payouts_state_idx` ON `payouts` (`state`);--> statement-breakpoint
CREATE TABLE `relay_cursors` (
	`relay` text PRIMARY KEY NOT NULL,
	`since` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`poster` text NOT NULL,
	`worker` text,
	`amount_msat` integer NOT NULL,
	`fee_msat` integer NOT NULL,
	`payment_hash` text,
	`version` integer NOT NULL,
	`audit_head` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_state_idx` ON `tasks` (`state`);