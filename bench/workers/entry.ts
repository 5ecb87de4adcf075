/**
 * The Worker as `npm run start:worker` serves it, plus what the Workers bench
 * needs in the same workerd and isolate: a plain Hono JSON endpoint (the
 * baseline) at POST /__bench/hono, and counters of Durable Object calls and D1
 * statements (every binding the Worker and its objects use is wrapped) at
 * GET /__bench/counters. Bench only; never deployed.
 */
import { Hono } from 'hono';
import worker, * as objects from '../../src/runtime/worker.js';
import { campaignObjectName, parseUserShards } from '../../src/store/durable-object/placement.js';

type Env = Record<string, unknown>;

const counters = {
  doCalls: {} as Record<string, number>,
  /** Campaign objects only: calls per object name (a campaign's budget shards are `<id>~<n>`). */
  campaignObjectCalls: {} as Record<string, number>,
  d1Statements: 0,
  d1Batches: 0,
  /** SQL statements run on Durable Objects' own SQLite (`ctx.storage.sql.exec`), by object class. */
  doSql: {} as Record<string, number>,
  /** Rows those statements wrote (index entries included) and read, by object class: what a Durable Object bills. */
  doRowsWritten: {} as Record<string, number>,
  doRowsRead: {} as Record<string, number>,
  requests: 0,
  /**
   * Slot requests that ran alone in the isolate, by route: how many, and how many had each number of
   * Durable Object round trips on their critical path (the longest chain of DO calls each started
   * after the previous one answered, among those answered before the response), and DO calls
   * still in flight when the response left (background).
   */
  criticalPath: {} as Record<string, { requests: number; depth: Record<string, number>; background: number }>,
};

/** DO calls of the one request in flight, ordered by a logical clock (workerd's Date.now() stands still between I/O). */
let tick = 0;
let inFlight = 0;
let started = 0;
let spans: { start: number; end?: number }[] = [];

function countDo(binding: string, method: string, object: string | undefined) {
  const key = `${binding}.${method}`;
  counters.doCalls[key] = (counters.doCalls[key] ?? 0) + 1;
  if (binding === 'CAMPAIGNS' && object !== undefined)
    counters.campaignObjectCalls[object] = (counters.campaignObjectCalls[object] ?? 0) + 1;
}

/** Wraps one DO call's promise in a span while a single request is in flight. */
function spanned<T>(result: T): T {
  // RPC stubs answer with a thenable RpcPromise, not a Promise.
  if (inFlight !== 1 || typeof (result as { then?: unknown })?.then !== 'function') return result;
  const span: { start: number; end?: number } = { start: ++tick };
  spans.push(span);
  return Promise.resolve(result).finally(() => (span.end = ++tick)) as T;
}

/** Round trips on the critical path: the longest chain of calls, each started after the one before answered. */
function depthOf(answered: { start: number; end: number }[]): number {
  const sorted = [...answered].sort((a, b) => a.start - b.start);
  const depth: number[] = [];
  let max = 0;
  sorted.forEach((span, i) => {
    let before = 0;
    for (let j = 0; j < i; j++) if (sorted[j].end < span.start) before = Math.max(before, depth[j]);
    depth[i] = before + 1;
    max = Math.max(max, depth[i]);
  });
  return max;
}

async function traced(route: string, work: () => Promise<Response>): Promise<Response> {
  const alone = inFlight === 0;
  const startedBefore = ++started;
  inFlight++;
  if (alone) spans = [];
  try {
    return await work();
  } finally {
    inFlight--;
    if (alone && started === startedBefore) {
      const answered = spans.filter((s): s is { start: number; end: number } => s.end !== undefined);
      const entry = (counters.criticalPath[route] ??= { requests: 0, depth: {}, background: 0 });
      const d = String(depthOf(answered));
      entry.requests++;
      entry.depth[d] = (entry.depth[d] ?? 0) + 1;
      entry.background += spans.length - answered.length;
    }
  }
}
/** Names behind ids made by idFromName (campaign objects only), so calls count per object. */
const idNames = new WeakMap<object, string>();

/** A namespace whose stubs count every RPC (and fetch) made through them. */
function countingNamespace(binding: string, ns: any): any {
  return new Proxy(ns, {
    get(target, prop) {
      const value = target[prop];
      if (prop === 'idFromName' && binding === 'CAMPAIGNS') {
        return (name: string) => {
          const id = value.call(target, name);
          idNames.set(id, name);
          return id;
        };
      }
      if (prop !== 'get' && prop !== 'getByName') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        const object = prop === 'getByName' ? (args[0] as string) : idNames.get(args[0] as object);
        const stub = value.apply(target, args);
        return new Proxy(stub, {
          get(s, method) {
            const member = s[method];
            if (typeof method !== 'string' || method === 'then' || method === 'id' || method === 'name') return member;
            return (...rpcArgs: unknown[]) => {
              countDo(binding, method, object);
              return spanned(s[method](...rpcArgs));
            };
          },
        });
      };
    },
  });
}

/** A D1 database whose statements count when they run. */
function countingD1(db: any): any {
  const wrapStatement = (statement: any): any =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === '__target') return target;
        const value = target[prop];
        if (typeof value !== 'function') return value;
        if (prop === 'bind') return (...args: unknown[]) => wrapStatement(value.apply(target, args));
        if (prop === 'all' || prop === 'run' || prop === 'first' || prop === 'raw') {
          return (...args: unknown[]) => {
            counters.d1Statements++;
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      const value = target[prop];
      if (prop === 'prepare') return (sql: string) => wrapStatement(value.call(target, sql));
      if (prop === 'batch') {
        return (statements: unknown[]) => {
          counters.d1Batches++;
          counters.d1Statements += statements.length;
          // Batches need the real statements back.
          return value.call(
            target,
            statements.map((s: any) => s?.__target ?? s),
          );
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const wrapped = new WeakMap<object, Env>();
function countingEnv(env: Env): Env {
  let out = wrapped.get(env);
  if (out) return out;
  out = { ...env };
  for (const [name, value] of Object.entries(env)) {
    if (value && typeof value === 'object' && 'idFromName' in value) out[name] = countingNamespace(name, value);
  }
  if (env.DB) out.DB = countingD1(env.DB);
  wrapped.set(env, out);
  return out;
}

const plain = new Hono();
plain.post('/__bench/hono', async (c) => {
  const body = await c.req.json<{ user?: string }>();
  return c.json({ slots: [], user: typeof body.user === 'string' ? body.user.length : 0 });
});
plain.get('/__bench/counters', (c) => {
  settleCursors();
  return c.json(counters);
});
/** Creates every shared user object once (hashed placement), so a new user meets a warm one. */
plain.post('/__bench/warm-user-shards', async (c) => {
  const env = c.env as Env;
  const shards = parseUserShards(env.USER_SHARDS as string | undefined);
  const ns = env.USERS as any;
  for (let i = 0; i < shards; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, shards - i) }, (_, j) => ns.get(ns.idFromName(`users-${i + j}`)).blocks('0'.repeat(64))),
    );
  }
  return c.json({ shards });
});
/** Creates every campaign's object once (shard 0), as a deployment's exist long before a measurement. */
plain.post('/__bench/warm-campaign-objects', async (c) => {
  const env = c.env as Env;
  const db = env.DB as any;
  const ns = env.CAMPAIGNS as any;
  const ids = ((await db.prepare('SELECT id FROM campaigns').all()).results as { id: string }[]).map((r) => r.id);
  const now = Date.now();
  for (let i = 0; i < ids.length; i += 32) {
    await Promise.all(ids.slice(i, i + 32).map((id) => ns.get(ns.idFromName(campaignObjectName(id, 0))).view(id, now)));
  }
  return c.json({ campaigns: ids.length });
});
/** The traffic object's rows for one UTC day (`?day=`), as forecasts read them: what the isolates' flushes wrote. */
plain.get('/__bench/traffic', async (c) => {
  const ns = (c.env as Env).TRAFFIC as any;
  const day = c.req.query('day') ?? new Date().toISOString().slice(0, 10);
  return c.json(await ns.get(ns.idFromName('traffic')).read(day, day));
});
plain.post('/__bench/counters/reset', (c) => {
  counters.doCalls = {};
  counters.campaignObjectCalls = {};
  counters.d1Statements = 0;
  counters.d1Batches = 0;
  settleCursors();
  counters.doSql = {};
  counters.doRowsWritten = {};
  counters.doRowsRead = {};
  counters.requests = 0;
  counters.criticalPath = {};
  return c.json({ ok: true });
});

/**
 * The objects' cursors not counted yet: a statement's rows are counted once the next statement starts (or the
 * counters are read), by then run to the end (a write runs at `exec`; the code reads what it reads before its next).
 */
let cursors: { name: string; cursor: { rowsRead: number; rowsWritten: number } }[] = [];
function settleCursors() {
  for (const { name, cursor } of cursors) {
    counters.doRowsWritten[name] = (counters.doRowsWritten[name] ?? 0) + cursor.rowsWritten;
    counters.doRowsRead[name] = (counters.doRowsRead[name] ?? 0) + cursor.rowsRead;
  }
  cursors = [];
}

/** Every Durable Object class the Worker exports, with its env wrapped so its own calls count too, and its SQL statements. */
function counted<T extends new (...args: any[]) => object>(Base: T, name: string): T {
  return class extends Base {
    constructor(...args: any[]) {
      const sql = args[0]?.storage?.sql;
      if (sql && typeof sql.exec === 'function') {
        const exec = sql.exec.bind(sql);
        sql.exec = (...query: unknown[]) => {
          counters.doSql[name] = (counters.doSql[name] ?? 0) + 1;
          settleCursors();
          const cursor = exec(...query);
          cursors.push({ name, cursor });
          return cursor;
        };
      }
      super(args[0], countingEnv(args[1]));
    }
  } as T;
}

const exported: Record<string, unknown> = {};
for (const [name, value] of Object.entries(objects)) {
  if (name !== 'default' && typeof value === 'function' && /Object$/.test(name)) exported[name] = counted(value as never, name);
}
export const UserObject = exported.UserObject;
export const CampaignObject = exported.CampaignObject;
export const TrafficObject = exported.TrafficObject;

export default {
  async fetch(request: Request, env: Env, ctx: unknown): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith('/__bench/')) return plain.fetch(request, env);
    counters.requests++;
    const serve = () => (worker as any).fetch(request, countingEnv(env), ctx) as Promise<Response>;
    // Only slot requests are traced: an event batch's calls include the user objects' own calls to campaign objects.
    return pathname === '/v1/slots' ? traced(`${request.method} ${pathname}`, serve) : serve();
  },
};
