CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"fence" integer NOT NULL,
	"expires_at" bigint NOT NULL
);
