"use client";
import { useConvex } from "convex/react";
import type { FunctionReference } from "convex/server";
import { useCallback, useState } from "react";

export type CallResult = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs the app's mutation wrappers (what `useMutation` does, for a function chosen at call time) and
 * keeps the last error to show with its code, and whether one is running.
 */
export function useCall() {
  const client = useConvex();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const call = useCallback(
    async (ref: FunctionReference<"mutation", "public", any, any>, args: Record<string, unknown>): Promise<CallResult> => {
      setBusy(true);
      setError(undefined);
      try {
        return { ok: true, value: await client.mutation(ref, args as never) };
      } catch (e) {
        setError(e);
        return { ok: false, error: e };
      } finally {
        setBusy(false);
      }
    },
    [client],
  );
  const clear = useCallback(() => setError(undefined), []);
  return { call, error, busy, clear };
}
