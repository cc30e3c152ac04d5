DROP INDEX "fundings_state_idx";--> statement-breakpoint
DROP INDEX "tasks_state_idx";--> statement-breakpoint
CREATE INDEX "fundings_state_deadline_idx" ON "fundings" USING btree ("state","claim_deadline_height");--> statement-breakpoint
CREATE INDEX "tasks_state_created_idx" ON "tasks" USING btree ("state","created_at");