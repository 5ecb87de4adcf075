/**
 * Typed TypeScript client for the HTTP API, for feed clients, advertisers and
 * operators: Hono's `hc` over the app's route types, so paths, request bodies
 * and JSON answers are checked by the compiler. Runs anywhere `fetch` does.
 *
 * @example
 * const api = createClient('https://ads.example.com', { apiKey: process.env.ADS_KEY });
 * const res = await api.v1.slots.$post({ json: { user: 'opaque-user-id', statuses: 12 } });
 * if (res.ok) for (const slot of (await res.json()).slots) console.log(slot.after, slot.ad.headline);
 */
import { hc } from 'hono/client';
import type { AppType } from './api/app.js';

export type { InferRequestType, InferResponseType } from 'hono/client';
export type { AppType };

export interface ClientOptions {
  /** An advertiser, feed-client or admin key; sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** A fetch to use instead of the global one (tests pass `app.request`, Workers a service binding). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

/** A client for the API at `baseUrl` (e.g. https://ads.example.com). */
export function createClient(baseUrl: string, options: ClientOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
  return hc<AppType>(baseUrl, { headers, ...(options.fetch ? { fetch: options.fetch } : {}) });
}

export type ApiClient = ReturnType<typeof createClient>;

/** An RFC 9457 problem, as every error answer of the API carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

/** The problem details of a failed response (or a synthetic one if the body was not problem+json). */
export async function problemOf(res: Response): Promise<Problem> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Problem;
  } catch {
    return { type: 'about:blank', title: res.statusText, status: res.status, detail: text };
  }
}
