/**
 * Feed-side use cases: serve slots, record events, blocks, erase, "why this ad".
 * Orchestrates: stores are read, the engine decides, stores remember, tokens are signed.
 */

import type { CatalogIndex } from '../catalog/index.js';
import type { Settings } from '../config.js';
import { advertiserCard } from '../engine/card.js';
import { type CategoryId, categoryLabel, isCategory } from '../engine/categories.js';
import { decide } from '../engine/decide.js';
import { historyWindowMs, remainingBudgetMicros } from '../engine/eligibility.js';
import { eventEffect } from '../engine/events.js';
import { placementCapacity } from '../engine/placement.js';
import type {
  AdvertiserCard,
  Cta,
  Decision,
  EngineSettings,
  EventType,
  ExplainEntry,
  MediaRef,
  RequestContext,
  ServableCampaign,
  ServableCreative,
  UserState,
} from '../engine/types.js';
import type { TrafficRecorder } from '../forecast/recorder.js';
import { type Metrics, noopMetrics } from '../ops/metrics.js';
import { timeOrderedId } from '../privacy/crypto.js';
import type { Pseudonymizer } from '../privacy/pseudonym.js';
import type { TokenCheck, TokenSigner } from '../privacy/token.js';
import type { EventOutcome, LedgerEvent, Reservation, Store } from '../store/interface.js';
import { KeyedLock } from '../store/keyed-lock.js';
import { type SlotsJson, slotsJson } from './slots-json.js';

export interface SlotView {
  after: number;
  token: string;
  ad: {
    creativeId: string;
    campaignId: string;
    advertiser: AdvertiserCard;
    headline: string;
    cta: Cta;
    media: MediaRef;
  };
}

export interface SlotsInput {
  user: string;
  /** The feed client asking; its tokens are bound to it. */
  clientId?: string;
  statuses?: number;
  runs?: number[];
  context?: RequestContext;
  explain?: boolean;
}

export interface SlotsResult {
  slots: SlotView[];
  explain?: ExplainEntry[];
}

/** A slot request once the raw user id is gone. */
export type UserSlotsInput = Omit<SlotsInput, 'user'>;

export interface DeliveryDeps {
  settings: Settings;
  store: Store;
  index: CatalogIndex;
  pseudonymize: Pseudonymizer;
  signer: TokenSigner;
  clock: () => number;
  /** How long reading a user's state may take before we fail closed. */
  userStateTimeoutMs?: number;
  /** Uniform draws in [0, 1) for probabilistic pacing [Math.random]. */
  random?: () => number;
  /** How often recorded impressions and clicks are folded into predicted CTRs (index rebuild) [settings.ctrRefreshMs]. */
  ctrRefreshMs?: number;
  /** Counts traffic for forecasts where the request arrives (this process or isolate). */
  traffic?: TrafficRecorder;
  /** Slot and event counters [none]. */
  metrics?: Metrics;
  /**
   * Serialise one user's requests inside this process [true]. Off on Workers: there a request
   * must not wait on another request's promise (its I/O would run in that request's context and
   * fail once it has answered), and the user object's conditional reserve already decides.
   */
  serialiseUsers?: boolean;
  /**
   * A slot request that finds the traffic counts due flushes them before it answers [true]. Off on
   * Workers: the host flushes after the answer, under that request's `waitUntil`.
   */
  flushTraffic?: boolean;
  /**
   * An events batch that finds the CTR refresh due starts an index rebuild and answers without waiting for it
   * [true]. Off on Workers: a rebuild left running after the answer is cancelled with its request there, and the
   * host's fetch handler rebuilds on the same cadence, under the request that waits for it.
   */
  refreshCtrAfterEvents?: boolean;
}

/** How many times a response is decided again when a concurrent one changed the user's history first. */
const SERVE_ATTEMPTS = 3;

const EXPIRED_TOKEN: EventOutcome = Object.freeze({ status: 'rejected', reason: 'expired_token' });
const INVALID_TOKEN: EventOutcome = Object.freeze({ status: 'rejected', reason: 'invalid_token' });

/** A batch of events with its tokens opened (`openEvents`), as `Delivery.recordOpened` records it. */
export interface OpenedEvents {
  /** When the tokens were checked: the batch's time, for the ledger too. */
  now: number;
  /** In the batch's order: the verified event (sealed claims or a handle), or why its token was refused. */
  items: (LedgerEvent | { type: EventType; refused: 'expired_token' | 'invalid_token' })[];
}

/**
 * Opens a batch's tokens (the first half of `Delivery.events`), wherever a signer with the same keys is: at
 * once where the runtime opens tokens synchronously (Node), else all at once. A token served to another feed
 * client is refused like a forged one.
 */
export function openEvents(
  signer: TokenSigner,
  items: { token: string; type: EventType }[],
  clientId: string,
  now: number,
): OpenedEvents | Promise<OpenedEvents> {
  const checks = signer.verifyAll(
    items.map((item) => item.token),
    now,
    clientId,
  );
  const pending = checks.some((check) => check instanceof Promise);
  const opened = (checks: TokenCheck[]): OpenedEvents => ({
    now,
    items: checks.map((check, i): OpenedEvents['items'][number] => {
      const type = items[i].type;
      if (!check.ok) return { type, refused: check.reason === 'expired' ? 'expired_token' : 'invalid_token' };
      if ('handle' in check)
        return { type, reservationNumber: check.handle.reservationNumber, expiresAt: check.handle.expiresAt };
      const { reservationId, reservationNumber, uid, campaignId, creativeId } = check.claims;
      return { type, reservationId, reservationNumber, uid, campaignId, creativeId };
    }),
  });
  return pending ? Promise.all(checks).then(opened) : opened(checks as TokenCheck[]);
}

/** A batch of events as the routes post it: `Delivery.events`' arguments. */
export type PostEvents = (items: { token: string; type: EventType }[], clientId?: string) => Promise<EventOutcome[]>;

/**
 * "Open, then record", in one place: a batch's tokens opened by `signer` at `clock()` (`openEvents`), then
 * recorded by `record` (`Delivery.recordOpened`) with that same time. `Delivery.events` is this over its own
 * signer; on Node main's events are this over main's signer and the engine thread's `recordOpened`.
 */
export function openThenRecord(
  signer: TokenSigner,
  clock: () => number,
  record: (opened: OpenedEvents) => Promise<EventOutcome[]>,
): PostEvents {
  return (items, clientId = '') => {
    const opened = openEvents(signer, items, clientId, clock());
    return opened instanceof Promise ? opened.then(record) : record(opened);
  };
}

/** The methods of an engine side's delivery that pass through as they are (`openingEventsHere`). */
type PassedThrough = Pick<
  Delivery,
  'slotsJson' | 'block' | 'unblock' | 'mute' | 'unmute' | 'blocks' | 'erase' | 'why' | 'prune' | 'historyMs'
>;

/**
 * `delivery` running elsewhere (Node's engine thread) with event tokens opened on this side, by `signer` (the
 * engine's keys), and only the verified events sent to it: an event's CPU is spread over both threads, and the
 * engine thread, which sets the events' pace with the ledger, does less. Built method by method (bound), so a
 * class instance works as well as a proxy of plain functions, and without `recordOpened`: what the routes get
 * cannot record unverified claims.
 */
export function openingEventsHere(
  delivery: PassedThrough & Pick<Delivery, 'recordOpened'>,
  signer: TokenSigner,
  clock: () => number,
): PassedThrough & Pick<Delivery, 'events'> {
  return {
    slotsJson: delivery.slotsJson.bind(delivery),
    events: openThenRecord(signer, clock, delivery.recordOpened.bind(delivery)),
    block: delivery.block.bind(delivery),
    unblock: delivery.unblock.bind(delivery),
    mute: delivery.mute.bind(delivery),
    unmute: delivery.unmute.bind(delivery),
    blocks: delivery.blocks.bind(delivery),
    erase: delivery.erase.bind(delivery),
    why: delivery.why.bind(delivery),
    prune: delivery.prune.bind(delivery),
    historyMs: delivery.historyMs.bind(delivery),
  };
}

/**
 * The engine's budget lookup at `now`. Made here rather than as an arrow in the decision's
 * arguments: a named arrow made per request costs a `__name` property definition per request where
 * the code runs through tsx/esbuild with keepNames (`npm start`).
 */
function budgetsAt(store: Store, now: number) {
  return (id: string) => store.budgets.view(id, now);
}

/** A store's answer is a promise (a backend that answers later) rather than the value itself. */
function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** A failed store's rejection as an Error answer (`reserve`'s), without a closure per request: whatever it rejected with, not stored. */
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** Fail closed: a budget that cannot be asked is not spent (the slot goes unfilled). */
function budgetUnavailable(campaignId: string, err: unknown): false {
  console.error(`[slots] budget unavailable for ${campaignId}, slot unfilled: ${(err as Error).message}`);
  return false;
}

/** A slot the decision placed, with its reservation and its budget hold's answer (or the promise of it). */
interface Asked {
  slot: Decision['slots'][number];
  reservation: Reservation;
  held: boolean | Promise<boolean>;
}

/** A user-state load in flight, with its deadline. */
interface PendingLoad {
  deadline: number;
  settle: (state: UserState | undefined) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class Delivery {
  private locks: KeyedLock | undefined;
  private loads = new Set<PendingLoad>();
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  /** Each creative's ad view, built once per index build (the index replaces its objects on rebuild). */
  private adViews = new WeakMap<ServableCreative, { campaign: ServableCampaign; ad: SlotView['ad'] }>();
  private engineSettings: EngineSettings;
  private ctrRefreshedAt: number;
  private metrics: Metrics;
  private openThenRecord: PostEvents;

  constructor(private deps: DeliveryDeps) {
    const s = deps.settings;
    this.metrics = deps.metrics ?? noopMetrics;
    this.openThenRecord = openThenRecord(deps.signer, deps.clock, (opened) => this.recordOpened(opened));
    this.locks = deps.serialiseUsers === false ? undefined : new KeyedLock();
    this.ctrRefreshedAt = deps.clock();
    this.engineSettings = {
      placement: s.placement,
      userCap: s.userCap,
      floorCpmMicros: s.floorCpmMicros,
      tokenTtlMs: s.tokenTtlMs,
    };
  }

  /** Per-user history worth keeping: the longest cap window, the user cap window, or the token TTL. */
  historyMs(): number {
    return historyWindowMs(this.deps.settings, this.deps.index.longestCapMs());
  }

  /**
   * The user's state, or undefined (fail closed) when it cannot be read or takes longer than
   * `userStateTimeoutMs`. A store that reads synchronously (SQLite) answers at once, with no
   * promise or timer. Otherwise, where requests may share work (in-process serialisation is on),
   * one watchdog timer serves every load in flight instead of a timer per request; elsewhere
   * (Workers: a timer belongs to the request that set it) each load gets its own.
   */
  private loadUser(uid: string, now: number, historyMs: number): UserState | undefined | Promise<UserState | undefined> {
    let loading: UserState | Promise<UserState>;
    try {
      loading = this.deps.store.users.load(uid, now, historyMs);
    } catch (err) {
      // A read that failed at once (or a Durable Object stub that throws before it returns a promise).
      console.error(`[slots] user state unavailable, serving no ad: ${(err as Error).message}`);
      return undefined;
    }
    if (!isPromise(loading)) return loading;
    const timeoutMs = this.deps.userStateTimeoutMs ?? 2000;
    return new Promise((resolve) => {
      const pending: PendingLoad = { deadline: performance.now() + timeoutMs, settle: resolve, timer: undefined };
      this.loads.add(pending);
      if (this.locks) this.watch(timeoutMs);
      else pending.timer = setTimeout(() => this.settleLoad(pending, undefined), timeoutMs);
      loading.then(
        (state) => this.settleLoad(pending, state),
        (err: Error) => {
          if (this.settleLoad(pending, undefined)) console.error(`[slots] user state unavailable, serving no ad: ${err.message}`);
        },
      );
    });
  }

  /** Settles a load once (the first of its answer and its deadline); false if it was already settled. */
  private settleLoad(pending: PendingLoad, state: UserState | undefined): boolean {
    if (!this.loads.delete(pending)) return false;
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.settle(state);
    return true;
  }

  /** Arms the shared watchdog if it is not: it settles every load past its deadline, oldest first. */
  private watch(ms: number): void {
    if (this.watchdog !== undefined) return;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      const now = performance.now();
      // Same timeout for all, so the set (insertion order) is in deadline order.
      for (const pending of this.loads) {
        if (pending.deadline > now) return this.watch(pending.deadline - now);
        this.settleLoad(pending, undefined);
      }
    }, ms);
    this.watchdog.unref?.();
  }

  /**
   * `slots`' answer as the API writes it (`slotsJson`), made here: where delivery runs on another thread (Node's
   * engine thread) the answer crosses as this one string, which main writes as the body as it is.
   */
  slotsJson(input: SlotsInput): Promise<SlotsJson> {
    return this.slots(input).then(slotsJson);
  }

  async slots(input: SlotsInput): Promise<SlotsResult> {
    // The request without its raw user id, built field by field (an object rest copies through a slow path).
    const request: UserSlotsInput = {
      clientId: input.clientId,
      statuses: input.statuses,
      runs: input.runs,
      context: input.context,
      explain: input.explain,
    };
    const pseudonym = this.deps.pseudonymize(input.user);
    const uid = typeof pseudonym === 'string' ? pseudonym : await pseudonym;
    const result = await this.serve(uid, request);
    const { traffic, settings } = this.deps;
    if (traffic) {
      // Positions the feed offered (placement only), and slots served: aggregates for forecasts.
      const offered = placementCapacity(request, settings.placement);
      traffic.request(this.deps.clock(), request.context ?? {}, uid, offered, result.slots.length);
      const flushing = this.deps.flushTraffic === false ? undefined : traffic.flushIfDue();
      if (flushing) await flushing;
    }
    return result;
  }

  /** One user's work, one at a time in this process where that is on. */
  private exclusive<T>(uid: string, work: () => Promise<T>): Promise<T> {
    return this.locks ? this.locks.run(uid, work) : work();
  }

  /**
   * Reads, decides, holds budget and reserves for one pseudonymous user, serialised per
   * user in this process. Where another process may serve the same user at once (Workers
   * isolates), the store refuses a response decided on a history that changed meanwhile,
   * and the decision is made again on the new one.
   */
  private serve(uid: string, input: UserSlotsInput): Promise<SlotsResult> {
    this.metrics.slotRequest();
    return this.exclusive(uid, () => this.serveAttempts(uid, input));
  }

  private async serveAttempts(uid: string, input: UserSlotsInput): Promise<SlotsResult> {
    for (let attempt = 1; attempt < SERVE_ATTEMPTS; attempt++) {
      const result = await this.serveOnce(uid, input, false);
      if (result !== 'conflict') return result;
    }
    return (await this.serveOnce(uid, input, true)) as SlotsResult;
  }

  /**
   * One attempt. A conflict (the user's history changed since it was read) is returned, with nothing counted, for
   * the next attempt to decide again, unless this is the `last`: then no ad is served and its places are counted
   * (what the decision left unfilled, the refused holds as `budget`, the rest `unavailable`), so each place of a
   * request is counted once whatever the attempts.
   */
  private async serveOnce(uid: string, input: UserSlotsInput, last: boolean): Promise<SlotsResult | 'conflict'> {
    // Filled one slot at a time once the decision is made: if anything throws after that, what was taken is given back.
    const asked: Asked[] = [];
    let stored: Promise<boolean | Error> | undefined;
    // Places given an ad by the decision and not yet counted served or unfilled: if anything throws, `abandoned`.
    let open = 0;
    // What the decision left unfilled, not yet counted (counted once the attempt is not a conflict, or if it throws).
    let uncounted: Decision['unfilled'];
    try {
      const now = this.deps.clock();
      const metrics = this.metrics;
      const historyMs = this.historyMs();
      const loaded = this.loadUser(uid, now, historyMs);
      const user = isPromise(loaded) ? await loaded : loaded;
      // Fail closed: without the user's caps and blocks we cannot serve safely.
      if (!user) {
        metrics.unfilled('unavailable', placementCapacity(input, this.deps.settings.placement));
        return input.explain ? { slots: [], explain: [] } : { slots: [] };
      }
      const context = input.context ?? {};
      const { store, index, signer, settings } = this.deps;
      const decision = decide({
        now,
        settings: this.engineSettings,
        campaigns: index.candidates(context, input.explain === true),
        user,
        budgetOf: budgetsAt(store, now),
        request: { statuses: input.statuses, runs: input.runs, context, explain: input.explain === true },
        random: this.deps.random ?? Math.random,
      });
      uncounted = decision.unfilled;
      open = decision.slots.length;

      // Holds go to the campaigns' authorities and the reservations to the user's, all at once: on
      // Workers one round trip after the load, so a slot request has two on its critical path. The
      // reserve is conditional on the history the decision was based on, as before; a reservation
      // whose hold is refused is taken back before answering (no token was issued for it).
      let holdsPending = false;
      const toStore: Reservation[] = [];
      for (const slot of decision.slots) {
        const id = timeOrderedId('r', now);
        // Where the budget is split over shards, the hold's shard is kept with its reservation: charges and releases go there.
        const shard = store.budgets.shardFor?.(slot.campaign.id, id, now) ?? 0;
        const reservation: Reservation = {
          id,
          uid,
          campaignId: slot.campaign.id,
          creativeId: slot.creative.id,
          advertiserId: slot.campaign.advertiserId,
          bidType: slot.campaign.bid.type,
          priceMicros: slot.priceMicros,
          servedAt: now,
          expiresAt: now + settings.tokenTtlMs,
          viewedAt: null,
          chargedAt: null,
          // Recorded with the slot, so reports break events down by what the feed client sent and video events know their creative.
          country: context.country ?? '',
          platform: context.platform ?? '',
          video: slot.creative.media.mime.startsWith('video/'),
        };
        if (shard > 0) reservation.budgetShard = shard;
        let held: boolean | Promise<boolean>;
        try {
          held = store.budgets.tryHold(
            {
              campaign: slot.campaign,
              reservationId: reservation.id,
              amountMicros: slot.priceMicros,
              expiresAt: reservation.expiresAt,
              shard,
            },
            now,
          );
        } catch (err) {
          held = budgetUnavailable(slot.campaign.id, err);
        }
        if (isPromise(held)) {
          // A thenable need not have `catch`: adopted as a promise first.
          held = Promise.resolve(held).catch((err) => budgetUnavailable(slot.campaign.id, err));
          holdsPending = true;
        }
        asked.push({ slot, reservation, held });
        toStore.push(reservation);
      }
      stored = store.users.reserve(toStore, { history: user.history, historyMs }).catch(asError);
      // Where every hold was answered at once (SQLite), no promise turn waits for them: each `held` is the answer.
      const holds = holdsPending ? await Promise.all(asked.map((a) => a.held)) : undefined;
      const reserved = await stored;

      const reservations: Reservation[] = [];
      const refused: Reservation[] = [];
      // The asked slots whose hold was taken, in order: each is served.
      const placed: Asked[] = [];
      for (let i = 0; i < asked.length; i++) {
        const { slot, reservation, held } = asked[i];
        if (!(holds ? holds[i] : (held as boolean))) {
          // Another user's request took the budget between the decision and the hold: the slot goes unfilled.
          refused.push(reservation);
          const entry = decision.explain?.find((e) => e.campaignId === slot.campaign.id);
          if (entry)
            Object.assign(entry, {
              outcome: 'rejected',
              reason: 'budget',
              remainingBudgetMicros: remainingBudgetMicros(slot.campaign, store.budgets.view(slot.campaign.id, now)),
            });
          continue;
        }
        reservations.push(reservation);
        placed.push(asked[i]);
      }
      if (reserved === false && !last) {
        await this.releaseHolds(reservations);
        return 'conflict';
      }
      // Counted from here on: this attempt's decision is the request's.
      if (uncounted) for (const u of uncounted) metrics.unfilled(u.reason, u.count);
      uncounted = undefined;
      if (refused.length > 0) metrics.unfilled('budget', refused.length);
      open -= refused.length;
      if (reserved === false || reserved instanceof Error) {
        console.error(
          reserved
            ? `[slots] could not store reservations, serving no ad: ${reserved.message}`
            : '[slots] user history kept changing under concurrent requests, serving no ad',
        );
        await this.releaseHolds(reservations);
        metrics.unfilled('unavailable', reservations.length);
        open = 0;
        return reserved === false && input.explain ? { slots: [], explain: [] } : { slots: [] };
      }
      if (refused.length > 0) {
        // Only on this path a third call: until it lands the refused reservations count toward caps
        // (fewer ads, never more); if it fails they stop counting when they expire, and never charge.
        await store.users
          .unreserve(
            uid,
            refused.map((r) => r.id),
          )
          .catch((err) => console.error(`[slots] could not take back refused reservations: ${(err as Error).message}`));
      }

      // Tokens are sealed synchronously where the runtime can (Node); elsewhere all at once.
      const tokens: (string | Promise<string>)[] = [];
      let pending = false;
      for (const { slot, reservation } of placed) {
        const token = signer.slotToken({
          reservationId: reservation.id,
          reservationNumber: reservation.number,
          clientId: input.clientId ?? '',
          uid,
          campaignId: slot.campaign.id,
          creativeId: slot.creative.id,
          expiresAt: reservation.expiresAt,
        });
        if (typeof token !== 'string') pending = true;
        tokens.push(token);
      }
      const sealed = pending ? await Promise.all(tokens) : (tokens as string[]);
      // Counted once every token is sealed: an abandoned response serves nothing.
      for (const r of reservations) metrics.slotServed(r.bidType, r.priceMicros);
      open = 0;
      const slots: SlotView[] = [];
      for (let i = 0; i < placed.length; i++) {
        const { slot } = placed[i];
        slots.push({ after: slot.after, token: sealed[i], ad: this.adView(slot.campaign, slot.creative) });
      }
      return decision.explain ? { slots, explain: decision.explain } : { slots };
    } catch (err) {
      if (uncounted) for (const u of uncounted) this.metrics.unfilled(u.reason, u.count);
      if (open > 0) this.metrics.unfilled('abandoned', open);
      await this.abandon(uid, asked, stored);
      throw err;
    }
  }

  /**
   * A response that throws once its holds may be taken (a token seal that fails, …) is not answered: its holds
   * are given back and its stored reservations taken back at once, instead of holding budget and counting toward
   * caps until they expire. Nothing of it could charge either way: no token left.
   */
  private async abandon(uid: string, asked: Asked[], stored: Promise<boolean | Error> | undefined): Promise<void> {
    if (asked.length === 0) return;
    const held = await Promise.all(asked.map((a) => a.held));
    await this.releaseHolds(asked.filter((_, i) => held[i] === true).map((a) => a.reservation));
    if (stored === undefined || (await stored) !== true) return;
    await this.deps.store.users
      .unreserve(
        uid,
        asked.map((a) => a.reservation.id),
      )
      .catch((err) =>
        console.error(`[slots] could not take back an abandoned response's reservations: ${(err as Error).message}`),
      );
  }

  /** Gives back the budget holds of reservations that will not be served. */
  private releaseHolds(reservations: Reservation[]): Promise<unknown> {
    const { budgets } = this.deps.store;
    return Promise.all(reservations.map((r) => budgets.release(r.campaignId, r.id, r.budgetShard).catch(() => undefined)));
  }

  /**
   * What a slot shows of a creative, built once per creative and index build and shared (frozen)
   * by every response that serves it: the index replaces its campaign and creative objects when it
   * rebuilds, so a changed profile, headline or target is a new view.
   */
  private adView(campaign: ServableCampaign, creative: ServableCreative): SlotView['ad'] {
    const known = this.adViews.get(creative);
    if (known && known.campaign === campaign) return known.ad;
    const ad = Object.freeze({
      creativeId: creative.id,
      campaignId: campaign.id,
      advertiser: campaign.advertiser,
      headline: creative.headline,
      cta: creative.cta,
      media: creative.media,
    });
    this.adViews.set(creative, { campaign, ad });
    return ad;
  }

  /** Verifies and records events; a token served to another feed client is rejected like a forged one. */
  async events(items: { token: string; type: EventType }[], clientId = ''): Promise<EventOutcome[]> {
    return await this.openThenRecord(items, clientId);
  }

  /**
   * Records a batch whose tokens `openEvents` opened (the second half of `events`): on Node the HTTP thread
   * opens them with its own signer while this thread commits earlier batches.
   */
  async recordOpened({ now, items }: OpenedEvents): Promise<EventOutcome[]> {
    const outcomes: EventOutcome[] = new Array(items.length);
    const verified: LedgerEvent[] = [];
    const positions: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if ('refused' in item) outcomes[i] = item.refused === 'expired_token' ? EXPIRED_TOKEN : INVALID_TOKEN;
      else {
        verified.push(item);
        positions.push(i);
      }
    }
    if (verified.length > 0) {
      const result = await this.deps.store.ledger.record(verified, now, {
        effect: eventEffect,
        reportThreshold: this.deps.settings.reportThreshold,
      });
      let impressions = 0;
      let clicks = 0;
      for (let j = 0; j < verified.length; j++) {
        const outcome = result.outcomes[j];
        outcomes[positions[j]] = outcome;
        if (outcome.status !== 'accepted') continue;
        if (verified[j].type === 'impression') impressions++;
        else if (verified[j].type === 'click') clicks++;
      }
      this.deps.traffic?.events(now, impressions, clicks);
      if (result.sentToReview.length > 0) await this.deps.index.refresh();
      else this.refreshCtrIfDue(now);
    }
    // One call per run of events of the same type and outcome (a batch is mostly one or two runs), not per event.
    let run = 0;
    for (let i = 0; i < items.length; i++) {
      run++;
      const type = items[i].type;
      const outcome = outcomeLabel(outcomes[i]);
      if (i + 1 < items.length && items[i + 1].type === type && outcomeLabel(outcomes[i + 1]) === outcome) continue;
      this.metrics.event(type, outcome, run);
      run = 0;
    }
    return outcomes;
  }

  /** Rebuilds the index at most every `ctrRefreshMs`, so new impressions and clicks reach predicted CTRs. */
  private refreshCtrIfDue(now: number): void {
    if (this.deps.refreshCtrAfterEvents === false) return;
    if (now - this.ctrRefreshedAt < (this.deps.ctrRefreshMs ?? this.deps.settings.ctrRefreshMs)) return;
    this.ctrRefreshedAt = now;
    this.deps.index.refresh(true).catch((err) => console.error(`[ctr] index refresh failed: ${(err as Error).message}`));
  }

  async block(user: string, advertiserId: string): Promise<void> {
    await this.deps.store.users.block(await this.deps.pseudonymize(user), advertiserId, this.deps.clock());
  }

  async unblock(user: string, advertiserId: string): Promise<void> {
    await this.deps.store.users.unblock(await this.deps.pseudonymize(user), advertiserId);
  }

  async mute(user: string, category: string): Promise<void> {
    await this.deps.store.users.mute(await this.deps.pseudonymize(user), category, this.deps.clock());
  }

  async unmute(user: string, category: string): Promise<void> {
    await this.deps.store.users.unmute(await this.deps.pseudonymize(user), category);
  }

  /** What a user turned off: blocked advertisers and muted categories. */
  async blocks(user: string): Promise<{ advertisers: string[]; categories: CategoryId[] }> {
    const uid = await this.deps.pseudonymize(user);
    const [advertisers, categories] = await Promise.all([this.deps.store.users.blocks(uid), this.deps.store.users.mutes(uid)]);
    return { advertisers, categories: categories.filter(isCategory) };
  }

  /** Retention: drops per-user history no cap window (as the index knows them) or token needs any more. */
  prune(now: number): Promise<number> {
    return this.deps.store.prune(now, this.historyMs());
  }

  async erase(user: string): Promise<void> {
    const uid = await this.deps.pseudonymize(user);
    await this.exclusive(uid, () => this.deps.store.users.erase(uid));
  }

  /** "Why am I seeing this ad": plain words from the targeting that matched. */
  async why(token: string, clientId = ''): Promise<{ advertiser: { id: string; name: string }; reasons: string[] } | undefined> {
    const check = await this.deps.signer.verify(token, this.deps.clock(), clientId);
    if (!check.ok) return undefined;
    // An erased user's tokens still verify until they expire; their reservation is gone, and so is any answer.
    const users = this.deps.store.users;
    const reservation =
      'handle' in check
        ? await users.numbered?.(check.handle.reservationNumber, check.handle.expiresAt)
        : await users.reservation(check.claims.uid, check.claims.reservationId);
    if (!reservation) return undefined;
    const campaign = await this.deps.store.catalog.getCampaign(reservation.campaignId);
    if (!campaign) return undefined;
    const advertiser = await this.deps.store.catalog.getAdvertiser(campaign.advertiserId);
    if (!advertiser) return undefined;
    const reasons = [`${advertiser.name} is running an ad campaign on status feeds.`];
    const t = campaign.targeting;
    // The targeting that matched: the slot request's country and platform are recorded with the slot (its language
    // is not, so the campaign's languages are named, of which the app's was one).
    if (t.countries) {
      const countries = t.countries.includes(reservation.country) ? [reservation.country] : t.countries;
      reasons.push(
        `They want to reach people in ${plainList(countries.map(countryName), 'or')}, and your app reported you are there.`,
      );
    }
    if (t.languages) {
      reasons.push(`They want to reach people whose app is in ${plainList(t.languages.map(languageName), 'or')}, as yours is.`);
    }
    if (t.platforms) {
      const platforms = (t.platforms as string[]).includes(reservation.platform) ? [reservation.platform] : t.platforms;
      reasons.push(`They want to reach people on ${plainList(platforms.map(platformName), 'or')}, as your app reported.`);
    }
    if (!t.countries && !t.languages && !t.platforms) reasons.push('They want to reach everyone; no targeting was used.');
    const category = advertiserCard(advertiser).category;
    if (category) {
      reasons.push(
        `${advertiser.name} is in the category "${categoryLabel(category)}". You have not muted it; mute it to stop seeing ads of this kind.`,
      );
    }
    reasons.push('Nothing from your messages, contacts or statuses was used to choose this ad.');
    return { advertiser: { id: advertiser.id, name: advertiser.name }, reasons };
  }
}

/** A name in plain English for a code (`Intl.DisplayNames`), with the code after it: "Germany (DE)"; the code alone where the runtime has no name. */
function displayName(type: 'region' | 'language', code: string): string {
  try {
    const name = new Intl.DisplayNames(['en'], { type, fallback: 'none' }).of(code);
    return name ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}
const countryName = (code: string) => displayName('region', code);
const languageName = (code: string) => displayName('language', code);
const PLATFORM_NAMES: Record<string, string> = { android: 'Android', ios: 'iOS', web: 'the web' };
const platformName = (platform: string) => PLATFORM_NAMES[platform] ?? platform;

/** "a", "a or b", "a, b or c". */
function plainList(items: string[], conjunction: string): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** An event outcome as the metrics name it: accepted, duplicate, or the rejection reason. */
function outcomeLabel(outcome: EventOutcome): string {
  return outcome.status === 'rejected' ? outcome.reason : outcome.status;
}
