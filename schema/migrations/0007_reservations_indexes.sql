DROP INDEX `reservations_campaign_live`;--> statement-breakpoint
CREATE INDEX `reservations_expires` ON `reservations` (`expires_at`);