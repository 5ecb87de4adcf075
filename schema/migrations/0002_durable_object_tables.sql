-- IF NOT EXISTS: objects deployed before this migration created these tables themselves.
CREATE TABLE IF NOT EXISTS `do_applied_effects` (
	`reservation_id` text NOT NULL,
	`type` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`reservation_id`, `type`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `do_budget_holds` (
	`reservation_id` text PRIMARY KEY NOT NULL,
	`amount_micros` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `do_budget_in_force` (
	`campaign_id` text PRIMARY KEY NOT NULL,
	`daily_micros` integer,
	`total_micros` integer
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `do_ctr_pending` (
	`creative_id` text PRIMARY KEY NOT NULL,
	`impressions` integer NOT NULL,
	`clicks` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `do_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`campaign_id` text NOT NULL,
	`effect` text NOT NULL
);
