CREATE TABLE "audit" (
	"task_id" text NOT NULL,
	"seq" integer NOT NULL,
	"event_type" text NOT NULL,
	"body" text NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "audit_pk" PRIMARY KEY("task_id","seq")
);
--> statement-breakpoint
CREATE TABLE "fundings" (
	"payment_hash" text PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL,
	"preimage_enc" text NOT NULL,
	"state" text NOT NULL,
	"amount_msat" bigint NOT NULL,
	"received_msat" bigint NOT NULL,
	"bolt11" text NOT NULL,
	"htlc_expiry_height" integer,
	"claim_deadline_height" integer,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "fundings_state_check" CHECK ("state" IN ('open', 'accepted', 'settled', 'cancelled'))
);
--> statement-breakpoint
CREATE TABLE "inbound_events" (
	"id" text PRIMARY KEY NOT NULL,
	"pubkey" text NOT NULL,
	"kind" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"raw" text NOT NULL,
	"received_at" bigint NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	CONSTRAINT "inbound_events_status_check" CHECK ("status" IN ('handled', 'rejected'))
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"event" text NOT NULL,
	"task_id" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox_relays" (
	"event_id" text NOT NULL,
	"relay" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer NOT NULL,
	"last_error" text,
	"next_attempt_at" bigint NOT NULL,
	CONSTRAINT "outbox_relays_pk" PRIMARY KEY("event_id","relay"),
	CONSTRAINT "outbox_relays_status_check" CHECK ("status" IN ('pending', 'ok', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "payouts" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "payouts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"task_id" text NOT NULL,
	"recipient" text NOT NULL,
	"bolt11" text NOT NULL,
	"payment_hash" text NOT NULL,
	"amount_msat" bigint NOT NULL,
	"state" text NOT NULL,
	"routing_fee_msat" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "payouts_recipient_check" CHECK ("recipient" IN ('worker', 'poster')),
	CONSTRAINT "payouts_state_check" CHECK ("state" IN ('in_flight', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "relay_cursors" (
	"relay" text PRIMARY KEY NOT NULL,
	"since" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"poster" text NOT NULL,
	"worker" text,
	"amount_msat" bigint NOT NULL,
	"fee_msat" bigint NOT NULL,
	"payment_hash" text,
	"version" integer NOT NULL,
	"audit_head" text NOT NULL,
	"body" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit" ADD CONSTRAINT "audit_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fundings" ADD CONSTRAINT "fundings_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox_relays" ADD CONSTRAINT "outbox_relays_event_id_outbox_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."outbox"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fundings_state_idx" ON "fundings" USING btree ("state");--> statement-breakpoint
CREATE INDEX "fundings_task_idx" ON "fundings" USING btree ("task_id");--> statement-breakpoint
CREATE INDEX "outbox_relays_due_idx" ON "outbox_relays" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payouts_one_live_idx" ON "payouts" USING btree ("task_id","recipient") WHERE "state" IN ('in_flight', 'succeeded');--> statement-breakpoint
CREATE UNIQUE INDEX "payouts_attempt_idx" ON "payouts" USING btree ("task_id","recipient","attempt");--> statement-breakpoint
CREATE INDEX "payouts_state_idx" ON "payouts" USING btree ("state");--> statement-breakpoint
CREATE INDEX "tasks_state_idx" ON "tasks" USING btree ("state");