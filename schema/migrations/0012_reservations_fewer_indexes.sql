-- A served slot wrote its row into four B-trees: the table, `id`'s unique index, `served_at`'s and `expires_at`'s
-- (bench/README.md session 16: each index ~1.5–2 µs of CPU a row, commit and checkpoint included). The Node store
-- looks a row up by id only among one user's rows (`reservation_users`, then the uid) and prunes in expiry order, so
-- two of them go. Durable Objects find rows by id and prune by `served_at`: `migrateObject` makes both indexes again
-- there (`do_reservations_id`, `do_reservations_served`).
DROP INDEX `reservations_id_unique`;--> statement-breakpoint
DROP INDEX `reservations_served`;