/**
 * Traffic aggregates on Node: the rows and merge rule of `SqlTraffic` (read as it does), written
 * with prepared better-sqlite3 statements (each cell's sketch merged into the stored one in SQL by
 * `reach_union`, without reading it first) and committed without an fsync on the event loop. The
 * flush runs inside the slot request that finds it due (every `TRAFFIC_FLUSH_MS`): ~160 cells
 * through drizzle's query builder and a `synchronous = FULL` commit were 60–130 ms of main-thread
 * CPU at a time there, which every request in flight waited for. The commit is written to the WAL
 * (a process crash keeps it) and synced right after, off the event loop (`WalSync`), as the
 * reservations are: a power loss can take the counts of the last interval, which a crash of the
 * recorder's process loses anyway (forecast statistics, never acknowledged data).
 */
import type Database from 'better-sqlite3';
import type { TrafficBatch } from '../interface.js';
import { SqlTraffic } from '../traffic.js';
import type { Db } from './db.js';
import type { WalSync } from './wal-sync.js';

export class SqliteTraffic extends SqlTraffic {
  private statements: ReturnType<typeof prepareStatements>;
  private sqlite: Database.Database;

  constructor(
    db: Db,
    private wal: WalSync,
  ) {
    super(db);
    this.sqlite = (db as unknown as { $client: Database.Database }).$client;
    this.statements = prepareStatements(this.sqlite);
  }

  override async add(batch: TrafficBatch): Promise<void> {
    const q = this.statements;
    this.wal.unsynced(() =>
      this.sqlite.transaction(() => {
        for (const cell of batch.cells) {
          q.upsertCell.run(
            cell.day,
            cell.country,
            cell.language,
            cell.platform,
            Math.trunc(cell.requests),
            Math.trunc(cell.opportunities),
            Math.trunc(cell.served),
            cell.reachSketch,
          );
        }
        for (const [day, { impressions, clicks }] of Object.entries(batch.totals))
          q.upsertTotals.run(day, Math.trunc(impressions), Math.trunc(clicks));
        if (batch.oldestDayKept) {
          q.dropCells.run(batch.oldestDayKept);
          q.dropTotals.run(batch.oldestDayKept);
        }
      })(),
    );
    this.wal.sync().catch((err) => console.error(`[store] WAL sync failed: ${(err as Error).message}`));
  }
}

function prepareStatements(sqlite: Database.Database) {
  return {
    upsertCell: sqlite.prepare(
      `INSERT INTO traffic_daily (day, country, language, platform, requests, opportunities, served, reach_sketch)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (day, country, language, platform) DO UPDATE SET requests = requests + excluded.requests,
         opportunities = opportunities + excluded.opportunities, served = served + excluded.served,
         reach_sketch = reach_union(reach_sketch, excluded.reach_sketch)`,
    ),
    upsertTotals: sqlite.prepare(
      `INSERT INTO traffic_totals (day, impressions, clicks) VALUES (?, ?, ?)
       ON CONFLICT (day) DO UPDATE SET impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks`,
    ),
    dropCells: sqlite.prepare('DELETE FROM traffic_daily WHERE day < ?'),
    dropTotals: sqlite.prepare('DELETE FROM traffic_totals WHERE day < ?'),
  };
}
