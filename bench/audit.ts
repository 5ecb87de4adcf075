/**
 * Correctness audit of a SQLite database after a run, independent of the
 * engine's own code: frequency and user caps over every window, blocked
 * advertisers served, spend over budget.
 */
import Database from 'better-sqlite3';
import type { CapRule } from '../src/config.js';
import type { Counters } from './stats.js';

interface Row {
  uid: string;
  campaignId: string;
  advertiserId: string;
  servedAt: number;
  expiresAt: number;
  viewedAt: number | null;
}

/** Live at `t`: viewed, or not yet expired. A reservation served in (t - W, t] and live at t counts toward the window ending at t. */
function maxInWindow(rows: Row[], windowMs: number): number {
  let worst = 0;
  for (const end of rows) {
    const t = end.servedAt;
    let n = 0;
    for (const r of rows) if (r.servedAt > t - windowMs && r.servedAt <= t && (r.viewedAt !== null || r.expiresAt > t)) n++;
    worst = Math.max(worst, n);
  }
  return worst;
}

export interface AuditResult extends Omit<Counters, 'serverErrors'> {
  reservations: number;
  users: number;
}

/**
 * `seededPrefix`: campaigns whose reservations were written into the database by the
 * benchmark, not served by the server (bench/event-load.ts): their caps and blocks were
 * never the server's decision, so only their spend is audited.
 */
export function auditDatabase(path: string, userCap: CapRule, seededPrefix?: string): AuditResult {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const campaigns = new Map<string, { caps: CapRule[]; daily: number | null; total: number | null }>();
    for (const c of db
      .prepare('select id, caps, daily_budget_micros as daily, total_budget_micros as total from campaigns')
      .all() as {
      id: string;
      caps: string;
      daily: number | null;
      total: number | null;
    }[]) {
      campaigns.set(c.id, { caps: JSON.parse(c.caps), daily: c.daily, total: c.total });
    }
    const rows = db
      .prepare(
        `select uid, campaign_id as campaignId, advertiser_id as advertiserId, served_at as servedAt, expires_at as expiresAt,
           coalesce(viewed_at, (select min(e.at) from events e where e.reservation = reservations.number and e.type in ('impression', 'click'))) as viewedAt
         from reservations
         ${seededPrefix ? 'where substr(campaign_id, 1, length(?)) <> ?' : ''} order by uid, served_at`,
      )
      .all(...(seededPrefix ? [seededPrefix, seededPrefix] : [])) as Row[];
    const blocks = new Map<string, number>();
    for (const b of db.prepare('select uid, advertiser_id as a, at from user_blocks').all() as {
      uid: string;
      a: string;
      at: number;
    }[]) {
      blocks.set(`${b.uid}|${b.a}`, b.at);
    }

    let capViolations = 0;
    let blockedServed = 0;
    let users = 0;
    for (let i = 0; i < rows.length; ) {
      let j = i;
      while (j < rows.length && rows[j].uid === rows[i].uid) j++;
      const mine = rows.slice(i, j);
      users++;
      if (maxInWindow(mine, userCap.windowSeconds * 1000) > userCap.impressions) capViolations++;
      const byCampaign = new Map<string, Row[]>();
      for (const r of mine) {
        let list = byCampaign.get(r.campaignId);
        if (!list) byCampaign.set(r.campaignId, (list = []));
        list.push(r);
        const blockedAt = blocks.get(`${r.uid}|${r.advertiserId}`);
        if (blockedAt !== undefined && blockedAt < r.servedAt) blockedServed++;
      }
      for (const [campaignId, list] of byCampaign) {
        for (const cap of campaigns.get(campaignId)?.caps ?? []) {
          if (maxInWindow(list, cap.windowSeconds * 1000) > cap.impressions) capViolations++;
        }
      }
      i = j;
    }

    let budgetOverspend = 0;
    const totals = new Map<string, number>();
    for (const s of db.prepare('select campaign_id as id, day, spend_micros as spend from campaign_spend').all() as {
      id: string;
      day: string;
      spend: number;
    }[]) {
      const c = campaigns.get(s.id);
      if (c?.daily !== null && c?.daily !== undefined && s.spend > c.daily) budgetOverspend++;
      totals.set(s.id, (totals.get(s.id) ?? 0) + s.spend);
    }
    for (const [id, spend] of totals) {
      const c = campaigns.get(id);
      if (c?.total !== null && c?.total !== undefined && spend > c.total) budgetOverspend++;
    }
    return { capViolations, blockedServed, budgetOverspend, reservations: rows.length, users };
  } finally {
    db.close();
  }
}
