"use client";
import { useCallback, useEffect, useState } from "react";

/** What the dashboard has open: a board, a card's run panel, one of its runs. */
export type DashboardRoute = { boardId?: string; cardId?: string; runId?: string };

const KEYS = [
  ["boardId", "board"],
  ["cardId", "card"],
  ["runId", "run"],
] as const;

/** `#board=…&card=…&run=…` → the route (unknown keys are ignored). */
export function parseHash(hash: string): DashboardRoute {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const route: DashboardRoute = {};
  for (const [field, key] of KEYS) {
    const value = params.get(key);
    if (value) route[field] = value;
  }
  return route;
}

/** The route as a location hash ("" for none). */
export function formatHash(route: DashboardRoute): string {
  const params = new URLSearchParams();
  for (const [field, key] of KEYS) if (route[field]) params.set(key, route[field]!);
  const s = params.toString();
  return s ? `#${s}` : "";
}

/**
 * The open board/card/run, kept in `location.hash` when `hashRoute` is set: a reload reopens the same
 * panel, Back goes to the previous one, and a link can point at a run.
 */
export function useRoute(hashRoute: boolean): [DashboardRoute, (next: DashboardRoute) => void] {
  const [route, setRoute] = useState<DashboardRoute>(() => (hashRoute && typeof location !== "undefined" ? parseHash(location.hash) : {}));
  useEffect(() => {
    if (!hashRoute) return;
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", onChange);
    window.addEventListener("popstate", onChange);
    return () => {
      window.removeEventListener("hashchange", onChange);
      window.removeEventListener("popstate", onChange);
    };
  }, [hashRoute]);
  const navigate = useCallback(
    (next: DashboardRoute) => {
      setRoute(next);
      if (!hashRoute) return;
      const hash = formatHash(next);
      if (hash !== location.hash) history.pushState(null, "", hash || `${location.pathname}${location.search}`);
    },
    [hashRoute],
  );
  return [route, navigate];
}
