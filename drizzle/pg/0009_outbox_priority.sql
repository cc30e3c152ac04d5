DROP INDEX "outbox_relays_due_idx";--> statement-breakpoint
ALTER TABLE "outbox_relays" ADD COLUMN "priority" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX "outbox_relays_due_idx" ON "outbox_relays" USING btree ("status","priority","next_attempt_at");