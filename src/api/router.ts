/**
 * The app's router: Hono's trie router (the one Hono's default picks for our route table), with the
 * match of each registered static path remembered. The hot routes are static (`/v1/slots`,
 * `/v1/events`), and their match — every middleware and handler on the path — is the same for every
 * request, so it is one Map lookup instead of a walk through the trie. Paths with parameters or
 * wildcards, and paths no route names (404s), still go through the trie, so the memory is bounded by
 * the routes, not by what clients send.
 */
import type { Result, Router } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';

/** Route paths that are not static: parameters, optional parameters, patterns, wildcards. */
const DYNAMIC = /[:*?{]/;

export class StaticMatchRouter<T> implements Router<T> {
  readonly name = 'StaticMatchRouter';
  #trie = new TrieRouter<T>();
  #static = new Set<string>();
  #matches = new Map<string, Result<T>>();

  add(method: string, path: string, handler: T): void {
    this.#trie.add(method, path, handler);
    if (!DYNAMIC.test(path)) this.#static.add(path);
    // A new route may match paths already remembered.
    this.#matches.clear();
  }

  match(method: string, path: string): Result<T> {
    if (!this.#static.has(path)) return this.#trie.match(method, path);
    const key = `${method} ${path}`;
    let result = this.#matches.get(key);
    if (result === undefined) this.#matches.set(key, (result = this.#trie.match(method, path)));
    return result;
  }
}
