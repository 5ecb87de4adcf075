CREATE TABLE `do_budget_coordinator` (
	`campaign_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `do_budget_shard` (
	`campaign_id` text PRIMARY KEY NOT NULL,
	`shard` integer NOT NULL,
	`state` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `do_reservation_shards` (
	`reservation_id` text PRIMARY KEY NOT NULL,
	`shard` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `do_budget_holds_expires` ON `do_budget_holds` (`expires_at`);