CREATE TABLE `creative_stats` (
	`creative_id` text PRIMARY KEY NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL
);
