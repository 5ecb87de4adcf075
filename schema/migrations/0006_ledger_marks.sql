CREATE TABLE `ledger_marks` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
