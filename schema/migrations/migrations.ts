/**
 * The migrations as modules, for runtimes that cannot read this folder at run
 * time (Durable Objects apply them with drizzle's durable-sqlite migrator).
 * Add each new drizzle-kit migration here: `mNNNN` is its journal index.
 */

import m0000 from './0000_init.sql';
import m0001 from './0001_creative_stats.sql';
import m0002 from './0002_durable_object_tables.sql';
import m0003 from './0003_mission.sql';
import m0004 from './0004_drop_report_daily.sql';
import m0005 from './0005_budget_shards.sql';
import m0006 from './0006_ledger_marks.sql';
import m0007 from './0007_reservations_indexes.sql';
import m0008 from './0008_events_by_reservation.sql';
import m0009 from './0009_events_by_number.sql';
import m0010 from './0010_uid_key.sql';
import m0011 from './0011_reservation_users.sql';
import m0012 from './0012_reservations_fewer_indexes.sql';
import journal from './meta/_journal.json';

export default {
  journal,
  migrations: { m0000, m0001, m0002, m0003, m0004, m0005, m0006, m0007, m0008, m0009, m0010, m0011, m0012 },
};
