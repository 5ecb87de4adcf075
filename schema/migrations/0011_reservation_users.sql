-- A user's reservations are found through `reservation_users` (key, number) instead of an index on
-- `reservations.uid_key`: the Node store fills it in key-sorted batches (src/store/sqlite/users.ts), so a page of
-- it is written once per batch rather than once per request. Every existing row's entry is copied, in key order, and
-- the `reservation_users` mark says every row up to the highest number has its entry. Durable Objects keep an index
-- on `uid_key` of their own (`migrateObject`, which also empties this table there).
-- Edited by hand from drizzle-kit's output: `WITHOUT ROWID` (drizzle-kit has no such option; one B-tree instead of a
-- table and its primary key index), the copy and the mark. Do not regenerate.
CREATE TABLE `reservation_users` (
	`key` integer NOT NULL,
	`number` integer NOT NULL,
	PRIMARY KEY(`key`, `number`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `reservation_users` (`key`, `number`) SELECT `uid_key`, `number` FROM `reservations` ORDER BY `uid_key`, `number`;--> statement-breakpoint
INSERT INTO `ledger_marks` (`name`, `value`) SELECT 'reservation_users', coalesce(max(`number`), 0) FROM `reservations`;--> statement-breakpoint
DROP INDEX `reservations_uid_key`;
