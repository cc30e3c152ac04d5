ALTER TABLE "payouts" ADD COLUMN "next_attempt_at" bigint;--> statement-breakpoint
ALTER TABLE "payouts" ADD COLUMN "last_error" text;