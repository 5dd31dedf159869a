/**
 * A stand-in for `ConvexReactClient` whose queries are answered by convex-test, for hook tests: the
 * hooks run the real `convex/react` code (`useQuery`, `usePaginatedQuery`, `useQueries`) against the
 * component's real functions. Like the real client it keeps one result per (query, args), serves it
 * to every watch of that key and notifies subscribers when it changes; unlike it, nothing happens until
 * the test says so, and the test picks the order results arrive in:
 * - `settle()` answers every subscribed query without a result, again and again until none is left
 *   (a render that follows a result may subscribe to new args);
 * - `refresh()` re-runs every subscribed query, as the real client does after a write it sees;
 * - `hold()` queues results instead of delivering them and `release({ reverse, count })` delivers
 *   them in the order the test picks, e.g. a fresh page first and a stale one after it;
 * - `refresh({ reverse: true })` re-runs every query and delivers the answers last subscribed first,
 *   as a client that lost its socket and resubscribes may see them;
 * - `mutation(ref, args)` (what `useMutation` calls) runs the mutation through convex-test, then
 *   refreshes every subscribed query, as the real client does once it sees the write; `idle()` waits
 *   for every mutation started so far (a click does not await its mutation).
 */
import { getFunctionName, type FunctionReference } from "convex/server";
import { convexToJson, type Value } from "convex/values";
import type { ConvexReactClient } from "convex/react";

export type QueryRunner = (query: FunctionReference<"query">, args: Record<string, Value>) => Promise<unknown>;
export type MutationRunner = (mutation: FunctionReference<"mutation">, args: Record<string, Value>) => Promise<unknown>;

type Entry = {
  query: FunctionReference<"query">;
  args: Record<string, Value>;
  /** The last result delivered: a value, or the error the query threw. */
  result?: { value: unknown } | { error: Error };
  json?: string;
  listeners: Set<() => void>;
};

export class ConvexTestClient {
  private readonly entries = new Map<string, Entry>();
  private held: { key: string; result: { value: unknown } | { error: Error } }[] | undefined;
  /** Every (query name, args) that was run, in order: what the hooks asked for. */
  readonly asked: { name: string; args: Record<string, Value> }[] = [];
  readonly logger = { log() {}, logVerbose() {}, warn() {}, error() {} };

  /** Every (mutation name, args) that was run, in order. */
  readonly mutations: { name: string; args: Record<string, Value> }[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly run: QueryRunner,
    private readonly mutate?: MutationRunner,
  ) {}

  /** Runs a mutation through convex-test, then re-runs every subscribed query; resolves to its result. */
  mutation(ref: FunctionReference<"mutation">, args: Record<string, Value> = {}): Promise<unknown> {
    const mutate = this.mutate;
    if (!mutate) return Promise.reject(new Error("ConvexTestClient: no mutation runner was given (new ConvexTestClient(run, mutate))"));
    this.mutations.push({ name: getFunctionName(ref), args });
    const done = (async () => {
      try {
        return await mutate(ref, args);
      } finally {
        await this.refresh();
      }
    })();
    this.inFlight.add(done);
    const forget = () => this.inFlight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Waits until every mutation started so far (and the refresh after it) has finished, failed or not. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** This client typed as the provider wants it (only the members `convex/react`'s query hooks use exist). */
  asReactClient(): ConvexReactClient {
    return this as unknown as ConvexReactClient;
  }

  watchQuery(query: FunctionReference<"query">, args: Record<string, Value> = {}) {
    const key = keyOf(query, args);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { query, args, listeners: new Set() };
      this.entries.set(key, entry);
    }
    const e = entry;
    return {
      onUpdate: (callback: () => void) => {
        e.listeners.add(callback);
        return () => e.listeners.delete(callback);
      },
      localQueryResult: (): unknown => {
        if (!e.result) return undefined;
        if ("error" in e.result) throw e.result.error;
        return e.result.value;
      },
      journal: () => undefined,
    };
  }

  watchPaginatedQuery(): never {
    throw new Error("ConvexTestClient: watchPaginatedQuery is not supported (usePaginatedQuery_experimental)");
  }

  /** Answers subscribed queries that have no result yet; returns how many it answered. */
  async answerPending(): Promise<number> {
    const pending = this.subscribed().filter(([, e]) => !e.result);
    await this.answer(pending);
    return pending.length;
  }

  /** Re-runs every subscribed query (as after a mutation); returns how many results changed. */
  async refresh(opts: { reverse?: boolean } = {}): Promise<number> {
    const all = this.subscribed();
    return await this.answer(opts.reverse ? all.reverse() : all);
  }

  /** Queue results from now on instead of delivering them. */
  hold(): void {
    this.held ??= [];
  }

  /**
   * Delivers queued results (the oldest first, or the newest with `reverse`), `count` of them (default
   * all); queueing stops once the queue is empty. Returns how many changed a result.
   */
  release(opts: { reverse?: boolean; count?: number } = {}): number {
    const queue = this.held ?? [];
    const picked = opts.reverse ? queue.splice(Math.max(0, queue.length - (opts.count ?? queue.length))).reverse() : queue.splice(0, opts.count ?? queue.length);
    if (queue.length === 0) this.held = undefined;
    return picked.filter(({ key, result }) => this.deliver(key, result)).length;
  }

  /** Keys with at least one subscriber. */
  private subscribed(): [string, Entry][] {
    return [...this.entries].filter(([, e]) => e.listeners.size > 0);
  }

  private async answer(entries: [string, Entry][]): Promise<number> {
    const results = [];
    for (const [key, e] of entries) {
      this.asked.push({ name: getFunctionName(e.query), args: e.args });
      try {
        results.push({ key, result: { value: await this.run(e.query, e.args) } });
      } catch (error) {
        results.push({ key, result: { error: error instanceof Error ? error : new Error(String(error)) } });
      }
    }
    if (this.held) {
      this.held.push(...results);
      return 0;
    }
    return results.filter(({ key, result }) => this.deliver(key, result)).length;
  }

  /** Stores a result and notifies the key's subscribers if it differs from the last one. */
  private deliver(key: string, result: { value: unknown } | { error: Error }): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    const json = "error" in result ? `error:${result.error.message}` : JSON.stringify(convexToJson(result.value as Value));
    if (e.json === json) return false;
    e.result = result;
    e.json = json;
    for (const listener of [...e.listeners]) listener();
    return true;
  }
}

function keyOf(query: FunctionReference<"query">, args: Record<string, Value>): string {
  return `${getFunctionName(query)}:${JSON.stringify(convexToJson(args))}`;
}

/** Answers queries with a convex-test instance (`t.query`). */
export function runnerOf(t: { query: (...args: any[]) => Promise<unknown> }): QueryRunner {
  return (query, args) => t.query(query, args);
}
