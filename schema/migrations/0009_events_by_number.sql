-- Reservations get an INTEGER PRIMARY KEY `number` (their rowid so far, kept: same order, and VACUUM cannot
-- renumber it now); events are keyed by it instead of the reservation's text id. Event rowids are kept (report
-- marks name them). Events whose reservation is gone (rows of older versions; Durable Objects keep report events
-- of pruned reservations) get -rowid: unique, and no reservation's number.
CREATE TABLE `__new_reservations` (
	`number` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`uid` text NOT NULL,
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
INSERT INTO `__new_reservations`("number", "id", "uid", "campaign_id", "creative_id", "advertiser_id", "bid_type", "price_micros", "served_at", "expires_at", "viewed_at", "charged_at", "country", "platform", "video") SELECT rowid, "id", "uid", "campaign_id", "creative_id", "advertiser_id", "bid_type", "price_micros", "served_at", "expires_at", "viewed_at", "charged_at", "country", "platform", "video" FROM `reservations` ORDER BY rowid;--> statement-breakpoint
CREATE UNIQUE INDEX `reservations_id_unique` ON `__new_reservations` (`id`);--> statement-breakpoint
CREATE TABLE `__new_events` (
	`reservation` integer NOT NULL,
	`type` text NOT NULL,
	`uid` text NOT NULL,
	`campaign_id` text NOT NULL,
	`at` integer NOT NULL,
	`cost_micros` integer NOT NULL,
	PRIMARY KEY(`reservation`, `type`)
);
--> statement-breakpoint
INSERT INTO `__new_events`(rowid, "reservation", "type", "uid", "campaign_id", "at", "cost_micros") SELECT e.rowid, coalesce(r."number", -e.rowid), e."type", e."uid", e."campaign_id", e."at", e."cost_micros" FROM `events` e LEFT JOIN `__new_reservations` r ON r."id" = e."reservation_id" ORDER BY e.rowid;--> statement-breakpoint
DROP TABLE `events`;--> statement-breakpoint
ALTER TABLE `__new_events` RENAME TO `events`;--> statement-breakpoint
CREATE INDEX `events_at` ON `events` (`at`);--> statement-breakpoint
DROP TABLE `reservations`;--> statement-breakpoint
ALTER TABLE `__new_reservations` RENAME TO `reservations`;--> statement-breakpoint
CREATE INDEX `reservations_uid` ON `reservations` (`uid`);--> statement-breakpoint
CREATE INDEX `reservations_served` ON `reservations` (`served_at`);--> statement-breakpoint
CREATE INDEX `reservations_expires` ON `reservations` (`expires_at`);
