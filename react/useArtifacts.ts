"use client";
import { useQueries, type UsePaginatedQueryReturnType } from "convex/react";
import { getFunctionName } from "convex/server";
import { useMemo } from "react";
import { usePages, type PageOptions } from "./useBoard.js";
import type { ArtifactsQuery, ArtifactUrlQuery, HookArgs, PageItem } from "./types.js";

export type ArtifactWithUrl<A> = A & {
  /** The download URL; `undefined` while it loads, `null` when the bytes are gone. */
  url: string | null | undefined;
  /** Why the URL could not be read (the URL query threw), if it could not. */
  urlError?: Error;
};

export type UseArtifactsResult<A> = Omit<UsePaginatedQueryReturnType<ArtifactsQuery>, "results"> & { results: ArtifactWithUrl<A>[] };

export type UseArtifactsOptions = PageOptions & {
  /** The app's wrapper of `lakitu.getArtifactUrl`: args `{ artifactId }`, returns the URL or null. */
  url: ArtifactUrlQuery;
};

/**
 * A run's (or a card's) artifacts, page by page, live, each with its download URL.
 *
 * URLs come from a second query, the app's wrapper of `lakitu.getArtifactUrl`, asked once per artifact
 * listed (one small subscription each). So the list wrapper stays a one-line call of
 * `lakitu.listArtifacts` whose pages hold only documents, the app checks access to the bytes in the URL
 * wrapper, and URLs are read only for the artifacts loaded.
 *
 * @param query The app's wrapper of `lakitu.listArtifacts`: args `{ runId? | cardId?, paginationOpts }`.
 * @param args `{ runId }` or `{ cardId }` and the wrapper's other args, or "skip".
 * @param options `{ url, initialNumItems }`: the URL query, and items per page (1–500).
 * @example
 * // convex/lakitu.ts
 * export const artifacts = query({ args: { runId: v.string(), paginationOpts: paginationOptsValidator },
 *   handler: async (ctx, args) => { await requireUser(ctx); return await lakitu.listArtifacts(ctx, args); } });
 * export const artifactUrl = query({ args: { artifactId: v.string() },
 *   handler: async (ctx, args) => { await requireUser(ctx); return await lakitu.getArtifactUrl(ctx, args); } });
 * // Artifacts.tsx
 * const { results } = useArtifacts(api.lakitu.artifacts, { runId }, { url: api.lakitu.artifactUrl, initialNumItems: 20 });
 * results.map((a) => <a key={a.artifactId} href={a.url ?? undefined} download={a.name}>{a.name}</a>);
 */
export function useArtifacts<Q extends ArtifactsQuery>(query: Q, args: HookArgs<Q> | "skip", options: UseArtifactsOptions): UseArtifactsResult<PageItem<Q>> {
  if (!options || typeof options.url !== "object" || options.url === null) {
    throw new Error("useArtifacts: options.url must be the app's wrapper of lakitu.getArtifactUrl (a query reference such as api.lakitu.artifactUrl)");
  }
  const pages = usePages("useArtifacts", query, args, options, 500);
  const artifacts = pages.results as PageItem<Q>[];
  const ids = artifacts.map((a) => a.artifactId).join("\n");
  // By name: `api.x.y` is a new object on every access, and new requests each render would resubscribe.
  const urlName = getFunctionName(options.url);
  const requests = useMemo(
    () => Object.fromEntries(artifacts.map((a) => [a.artifactId, { query: options.url, args: { artifactId: a.artifactId } }])),
    // The requests change only when the listed artifacts or the URL query do.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [ids, urlName],
  );
  const urls = useQueries(requests);
  const results = useMemo(
    () =>
      artifacts.map((a): ArtifactWithUrl<PageItem<Q>> => {
        const u: unknown = urls[a.artifactId];
        return u instanceof Error ? { ...a, url: undefined, urlError: u } : { ...a, url: u as string | null | undefined };
      }),
    [artifacts, urls],
  );
  return { ...pages, results } as UseArtifactsResult<PageItem<Q>>;
}
