/**
 * The rules a request meets before its route, as plain functions over header values and the principal
 * (no Hono context): the app's middleware calls them, and so does the Node slot lane
 * (src/runtime/node-slots.ts), so each rule has one home and both ask the same key cache and buckets.
 */
import { jsonLinesLog } from '../ops/log.js';
import { noopMetrics } from '../ops/metrics.js';
import type { AppDeps, Principal } from './context.js';
import { createAuth } from './middleware/auth.js';
import { rateLimit } from './middleware/rate-limit.js';
import { type RequestRecord, requestRecorder } from './middleware/request-log.js';

const MiB = 1024 * 1024;
/** The largest JSON body any route takes. */
export const JSON_BODY_LIMIT = MiB;

export interface Edge {
  /** The Authorization header's key, for the given kinds: a principal, a lookup under way, or a thrown 401/403. */
  authenticate: ReturnType<typeof createAuth>;
  /** Takes one token from the key's bucket, or throws a 429. */
  limitRate: (principal: Principal) => void;
  /** One metrics observation and one log line per answered request. */
  record: (request: RequestRecord) => void;
}

export function createEdge(deps: AppDeps): Edge {
  return {
    authenticate: createAuth({ adminKey: deps.adminKey, catalog: deps.store.catalog }),
    limitRate: rateLimit({
      rates: { advertiser: deps.settings.rateLimitAdvertiser, client: deps.settings.rateLimitClient },
      clock: deps.clock,
    }),
    // Without a logger wired in, 5xx errors still reach stderr (as JSON lines); request lines do not.
    record: requestRecorder({ log: deps.log ?? jsonLinesLog('error', console.error), metrics: deps.metrics ?? noopMetrics }),
  };
}
