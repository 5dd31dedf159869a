/**
 * Renders a hook under a `ConvexProvider` whose client is a `ConvexTestClient` over convex-test, and
 * drives it: `settle` answers queries until the hooks stop asking, `sync` is what a write does (every
 * live query re-runs). Every value the hook returned is kept in `renders`, so a test can check an
 * invariant over all of them, not only the last.
 */
import { act, render, renderHook } from "@testing-library/react";
import { ConvexProvider } from "convex/react";
import { createElement, type ReactElement, type ReactNode } from "react";
import { ConvexTestClient, type MutationRunner, type QueryRunner } from "./convexTestClient.js";

/** Rounds of answers `settle` allows before it calls the hook stuck (each round is one act()). */
const MAX_ROUNDS = 100;

export function renderWithClient<R>(run: QueryRunner, hook: () => R) {
  const clients = { current: new ConvexTestClient(run) };
  const renders: R[] = [];
  const wrapper = ({ children }: { children: ReactNode }) => createElement(ConvexProvider, { client: clients.current.asReactClient() }, children);
  const rendered = renderHook(
    () => {
      const value = hook();
      renders.push(value);
      return value;
    },
    { wrapper },
  );
  return {
    renders,
    get client() {
      return clients.current;
    },
    get result() {
      return rendered.result.current;
    },
    /** Answers every query without a result until the hook subscribes to nothing new. */
    async settle(): Promise<void> {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const answered = await act(async () => await clients.current.answerPending());
        if (answered === 0) return;
      }
      throw new Error(`the hook still asked for new queries after ${MAX_ROUNDS} rounds`);
    },
    /** What the client does after a write: re-runs every live query, then answers what that makes the hook ask. */
    async sync(opts: { reverse?: boolean } = {}): Promise<void> {
      await act(async () => {
        await clients.current.refresh(opts);
      });
      await this.settle();
    },
    /** Swaps in a new client with an empty cache (a page reload keeping React state, or a provider reset). */
    async newClient(): Promise<void> {
      clients.current = new ConvexTestClient(run);
      await act(async () => rendered.rerender());
      await this.settle();
    },
    /** Renders again (after the test changed what the hook closure reads), then answers what it asks. */
    async rerender(): Promise<void> {
      await act(async () => rendered.rerender());
      await this.settle();
    },
    async act<T>(fn: () => T | Promise<T>): Promise<T> {
      let out!: T;
      await act(async () => {
        out = await fn();
      });
      return out;
    },
    unmount: () => rendered.unmount(),
  };
}

/**
 * Renders a UI (e.g. `<LakituDashboard>`) under a `ConvexProvider` whose client answers queries with
 * `run` and mutations with `mutate`; `settle` answers queries until the UI stops asking, `flush` waits
 * for the mutations a click started (and the refresh after each), then settles.
 */
export function renderUi(run: QueryRunner, ui: ReactElement, mutate?: MutationRunner) {
  const client = new ConvexTestClient(run, mutate);
  const rendered = render(createElement(ConvexProvider, { client: client.asReactClient() }, ui));
  const h = {
    client,
    container: rendered.container,
    async settle(): Promise<void> {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const answered = await act(async () => await client.answerPending());
        if (answered === 0) return;
      }
      throw new Error(`the UI still asked for new queries after ${MAX_ROUNDS} rounds`);
    },
    async flush(): Promise<void> {
      await act(async () => await client.idle());
      await h.settle();
    },
    /** What the client does after a write it did not make: re-runs every live query, then settles. */
    async sync(): Promise<void> {
      await act(async () => {
        await client.refresh();
      });
      await h.settle();
    },
    async act(fn: () => unknown): Promise<void> {
      await act(async () => {
        await fn();
      });
    },
    rerender: (next: ReactElement) => rendered.rerender(createElement(ConvexProvider, { client: client.asReactClient() }, next)),
    unmount: () => rendered.unmount(),
  };
  return h;
}
