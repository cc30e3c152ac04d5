CREATE TABLE `arbitrators` (
	`pubkey` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`fee_base_msat` integer NOT NULL,
	`fee_ppm` integer NOT NULL,
	`active` integer NOT NULL,
	`source` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "arbitrators_active_check" CHECK("active" IN (0, 1)),
	CONSTRAINT "arbitrators_source_check" CHECK("source" IN ('config', 'cli'))
);
