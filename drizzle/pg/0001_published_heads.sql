CREATE TABLE "published_heads" (
	"task_id" text PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "published_heads" ADD CONSTRAINT "published_heads_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;