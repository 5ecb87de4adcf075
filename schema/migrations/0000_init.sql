CREATE TABLE `advertisers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`address` text,
	`email` text,
	`website` text,
	`category` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`key_hash` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`owner_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `campaign_spend` (
	`campaign_id` text NOT NULL,
	`day` text NOT NULL,
	`spend_micros` integer NOT NULL,
	PRIMARY KEY(`campaign_id`, `day`)
);
--> statement-breakpoint
CREATE TABLE `campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`advertiser_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer,
	`bid_type` text NOT NULL,
	`bid_micros` integer NOT NULL,
	`daily_budget_micros` integer,
	`total_budget_micros` integer,
	`pacing` text NOT NULL,
	`targeting` text NOT NULL,
	`caps` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `campaigns_advertiser` ON `campaigns` (`advertiser_id`);--> statement-breakpoint
CREATE TABLE `catalog_version` (
	`id` integer PRIMARY KEY NOT NULL,
	`version` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `clients` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `creative_reports` (
	`creative_id` text NOT NULL,
	`uid` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`creative_id`, `uid`)
);
--> statement-breakpoint
CREATE INDEX `creative_reports_uid` ON `creative_reports` (`uid`);--> statement-breakpoint
CREATE TABLE `creatives` (
	`id` text PRIMARY KEY NOT NULL,
	`campaign_id` text NOT NULL,
	`advertiser_id` text NOT NULL,
	`headline` text NOT NULL,
	`cta_type` text NOT NULL,
	`cta_target` text NOT NULL,
	`media_sha256` text NOT NULL,
	`review` text NOT NULL,
	`review_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `creatives_campaign` ON `creatives` (`campaign_id`);--> statement-breakpoint
CREATE INDEX `creatives_review` ON `creatives` (`review`);--> statement-breakpoint
CREATE TABLE `events` (
	`reservation_id` text NOT NULL,
	`type` text NOT NULL,
	`uid` text NOT NULL,
	`campaign_id` text NOT NULL,
	`at` integer NOT NULL,
	`cost_micros` integer NOT NULL,
	PRIMARY KEY(`reservation_id`, `type`)
);
--> statement-breakpoint
CREATE INDEX `events_uid` ON `events` (`uid`);--> statement-breakpoint
CREATE INDEX `events_at` ON `events` (`at`);--> statement-breakpoint
CREATE TABLE `media` (
	`sha256` text PRIMARY KEY NOT NULL,
	`mime` text NOT NULL,
	`bytes` integer NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`duration_ms` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `report_daily` (
	`campaign_id` text NOT NULL,
	`day` text NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`hides` integer DEFAULT 0 NOT NULL,
	`reports` integer DEFAULT 0 NOT NULL,
	`blocks` integer DEFAULT 0 NOT NULL,
	`spend_micros` integer DEFAULT 0 NOT NULL,
	`reach_sketch` text,
	PRIMARY KEY(`campaign_id`, `day`)
);
--> statement-breakpoint
CREATE TABLE `reservations` (
	`id` text PRIMARY KEY NOT NULL,
	`uid` text NOT NULL,
	`campaign_id` text NOT NULL,
	`creative_id` text NOT NULL,
	`advertiser_id` text NOT NULL,
	`bid_type` text NOT NULL,
	`price_micros` integer NOT NULL,
	`served_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`viewed_at` integer,
	`charged_at` integer
);
--> statement-breakpoint
CREATE INDEX `reservations_uid` ON `reservations` (`uid`);--> statement-breakpoint
CREATE INDEX `reservations_campaign_live` ON `reservations` (`campaign_id`,`expires_at`);--> statement-breakpoint
CREATE INDEX `reservations_served` ON `reservations` (`served_at`);--> statement-breakpoint
CREATE TABLE `user_blocks` (
	`uid` text NOT NULL,
	`advertiser_id` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`uid`, `advertiser_id`)
);
--> statement-breakpoint
CREATE TABLE `user_hides` (
	`uid` text NOT NULL,
	`creative_id` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`uid`, `creative_id`)
);
