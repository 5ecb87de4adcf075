/**
 * The console's only way to read or change anything: the HTTP API itself,
 * called in-process (`app.request`) with the signed-in person's key, so every
 * rule, check and error is the API's own.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { partOfCountedRequest } from '../api/middleware/rate-limit.js';
import { partOfRequest } from '../api/middleware/request-log.js';
import type { Advertiser, Campaign, Client, Creative, Forecast, Problem, ReportRow } from '../api/schemas.js';

export type AdvertiserView = z.infer<typeof Advertiser>;
export type CampaignView = z.infer<typeof Campaign>;
export type CreativeView = z.infer<typeof Creative>;
export type ClientView = z.infer<typeof Client>;
export type ReportRowView = z.infer<typeof ReportRow>;
export type ForecastView = z.infer<typeof Forecast>;
export type ProblemView = z.infer<typeof Problem>;
export type PendingCreative = CreativeView & { advertiser: AdvertiserView };

export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; problem: ProblemView };

/** What the console needs of the app: Hono's `request`. */
export interface InProcessApp {
  request(input: Request, init?: RequestInit, env?: unknown, executionCtx?: never): Response | Promise<Response>;
}

export class ConsoleApi {
  /** Whether this page's first API call was made: it takes the key's rate-limit token for the whole page view. */
  private counted = false;

  constructor(
    private readonly app: InProcessApp,
    private readonly c: Context,
    private readonly key: string,
  ) {}

  /** Calls one API route; JSON and problem+json bodies are parsed, anything else is kept as text. */
  async call<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    const headers = new Headers({ Authorization: `Bearer ${this.key}`, Accept: 'application/json' });
    // The API throttles failed keys by the caller's address: keep the person's address (Workers) and env (Node socket).
    const address = this.c.req.header('CF-Connecting-IP');
    if (address) headers.set('CF-Connecting-IP', address);
    // One request id for the page and the API calls it makes (a 5xx inside one is logged under the page's id).
    const requestId = (this.c.var as { requestId?: unknown }).requestId;
    if (typeof requestId === 'string') headers.set('X-Request-Id', requestId);
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers.set('Content-Type', 'application/json');
      payload = JSON.stringify(body);
    }
    let executionCtx: never | undefined;
    try {
      executionCtx = this.c.executionCtx as never;
    } catch {
      executionCtx = undefined; // Node has none
    }
    // Same origin as the page. One page view is one request of the person: the first call takes the key's
    // rate-limit token (a 429 there is the page's), the calls after it are part of that request.
    const request = new Request(new URL(path, this.c.req.url), { method, headers, body: payload });
    if (this.counted) partOfCountedRequest(request);
    partOfRequest(request, this.c);
    this.counted = true;
    const res = await this.app.request(request, undefined, this.c.env, executionCtx);
    const type = res.headers.get('Content-Type') ?? '';
    const parsed: unknown = type.includes('json') ? await res.json() : await res.text();
    if (res.ok) return { ok: true, status: res.status, data: parsed as T };
    const problem =
      typeof parsed === 'object' && parsed !== null && 'detail' in parsed
        ? (parsed as ProblemView)
        : { type: 'about:blank', title: res.statusText || 'Error', status: res.status, detail: String(parsed).slice(0, 200) };
    return { ok: false, status: res.status, problem };
  }

  get<T>(path: string) {
    return this.call<T>('GET', path);
  }
}
