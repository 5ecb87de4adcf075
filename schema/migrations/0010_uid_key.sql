-- Reservations get `uid_key`, the integer of the pseudonym's first 13 hex digits, made by SQLite from `uid` (a
-- stored generated column: every writer gets it without naming it), and a user's rows are found by it instead of by
-- the 64-character uid (src/store/user-history.ts `uidKey`, the same in JavaScript): the index's random page per
-- served slot holds ~6 times as many entries. A stored generated column cannot be added to a table, so the table is
-- copied (numbers kept: events name them).
-- Written by hand, do not regenerate: drizzle-kit, run from 0009's snapshot, emits only an index on `uid_key` (a column
-- it does not create).
CREATE TABLE `__new_reservations` (
	`number` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`uid` text NOT NULL,
	`uid_key` integer GENERATED ALWAYS AS (((((((((((((instr('0123456789abcdef', substr("uid", 1, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 2, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 3, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 4, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 5, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 6, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 7, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 8, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 9, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 10, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 11, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 12, 1)) - 1) * 16 + instr('0123456789abcdef', substr("uid", 13, 1)) - 1) STORED,
	`campaign_id` text NOT NULL,
	`creative_id` text NOT NULL,
	`advertiser_id` text NOT NULL,
	`bid_type` text NOT NULL,
	`price_micros` integer NOT NULL,
	`served_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`viewed_at` integer,
	`charged_at` integer,
	`country` text DEFAULT '' NOT NULL,
	`platform` text DEFAULT '' NOT NULL,
	`video` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_reservations`("number", "id", "uid", "campaign_id", "creative_id", "advertiser_id", "bid_type", "price_micros", "served_at", "expires_at", "viewed_at", "charged_at", "country", "platform", "video") SELECT "number", "id", "uid", "campaign_id", "creative_id", "advertiser_id", "bid_type", "price_micros", "served_at", "expires_at", "viewed_at", "charged_at", "country", "platform", "video" FROM `reservations` ORDER BY "number";--> statement-breakpoint
DROP TABLE `reservations`;--> statement-breakpoint
ALTER TABLE `__new_reservations` RENAME TO `reservations`;--> statement-breakpoint
CREATE UNIQUE INDEX `reservations_id_unique` ON `reservations` (`id`);--> statement-breakpoint
CREATE INDEX `reservations_uid_key` ON `reservations` (`uid_key`);--> statement-breakpoint
CREATE INDEX `reservations_served` ON `reservations` (`served_at`);--> statement-breakpoint
CREATE INDEX `reservations_expires` ON `reservations` (`expires_at`);