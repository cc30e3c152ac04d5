CREATE TABLE "heads_events" (
	"seq" integer PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"count" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "heads_events_event_id_unique" UNIQUE("event_id")
);
--> statement-breakpoint
ALTER TABLE "published_heads" ADD COLUMN "length" integer;--> statement-breakpoint
ALTER TABLE "published_heads" ADD COLUMN "announced_length" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "published_heads_unannounced_idx" ON "published_heads" USING btree ("task_id") WHERE "length" IS NULL OR "length" <> "announced_length";