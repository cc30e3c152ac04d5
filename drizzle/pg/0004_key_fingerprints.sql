CREATE TABLE "key_fingerprints" (
	"name" text PRIMARY KEY NOT NULL,
	"fingerprint" text NOT NULL,
	"recorded_at" bigint NOT NULL,
	CONSTRAINT "key_fingerprints_name_check" CHECK ("name" IN ('preimage', 'agent'))
);
