/**
 * Every item of a paginated list, page after page, for tests that want the whole list: the lists
 * themselves return Convex pages (`paginationOpts` in, `PaginationResult` out).
 */
import type { FunctionArgs, FunctionReference, FunctionReturnType, PaginationOptions, PaginationResult } from "convex/server";

type PagedQuery = FunctionReference<"query", "public", { paginationOpts: PaginationOptions }, PaginationResult<any>>;
type Queryable = { query: (f: any, args: any) => Promise<any> };

/** Pages through `list` with `numItems` per page (default 100) and returns the items in order. */
export async function listAll<F extends PagedQuery>(
  t: Queryable,
  list: F,
  args: Omit<FunctionArgs<F>, "paginationOpts">,
  numItems = 100,
): Promise<FunctionReturnType<F>["page"]> {
  const items: FunctionReturnType<F>["page"] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 10_000; pages++) {
    const result: PaginationResult<unknown> = await t.query(list, { ...args, paginationOpts: { numItems, cursor } });
    items.push(...result.page);
    if (result.isDone) return items;
    cursor = result.continueCursor;
  }
  throw new Error("listAll: more than 10,000 pages");
}

/** The first page of `list` (`numItems` default 100), for tests that look at one page. */
export async function firstPage<F extends PagedQuery>(t: Queryable, list: F, args: Omit<FunctionArgs<F>, "paginationOpts">, numItems = 100): Promise<FunctionReturnType<F>> {
  return await t.query(list, { ...args, paginationOpts: { numItems, cursor: null } });
}
